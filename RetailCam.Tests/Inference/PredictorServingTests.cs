using RetailCam.Engine.Cam;
using RetailCam.Engine.Inference;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Tests.Inference;

public sealed class PredictorServingTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("retailcam-serving-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    private static Image<Rgb24> Photo(int width, int height)
    {
        var image = new Image<Rgb24>(width, height);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++) row[x] = new Rgb24((byte)(x * 3), (byte)(y * 5), (byte)((x + y) * 2));
            }
        });
        return image;
    }

    [Fact]
    public async Task The_served_model_and_every_batch_sit_on_the_device_given()
    {
        var device = new Device(DeviceType.CPU);
        using var predictor = Predictor.ForFolder(TinyModels.Save(Path.Combine(folder, "m"), 1), new PredictorOptions(), device);
        var seen = new List<(DeviceType Type, int Index)>();
        predictor.Forwarding += (network, batch) =>
        {
            seen.AddRange(network.parameters().Select(p => (p.device.type, p.device.index)));
            seen.AddRange(network.buffers().Select(b => (b.device.type, b.device.index)));
            seen.Add((batch.device.type, batch.device.index));
        };
        using var photo = Photo(50, 40);

        await predictor.PredictAsync(photo, "p");

        Assert.Same(device, predictor.Device);
        Assert.True(seen.Count > 2);
        Assert.All(seen, d => Assert.Equal((device.type, device.index), d));
    }

    [Fact]
    public async Task Serving_many_requests_across_republished_models_leaves_no_live_tensors_behind()
    {
        var model = Path.Combine(folder, "m");
        TinyModels.Save(model, 2);
        using var photo = Photo(60, 50);
        var options = new PredictRequestOptions { Method = ClassMapMethods.GradCamPlusPlus, MapClasses = [0, 2] };
        using var predictor = Predictor.ForFolder(model, new PredictorOptions(), CPU);
        // Counted on the serving thread at the same point of every batch: a tensor kept by one batch shows in the next.
        var live = new List<long>();
        predictor.Forwarding += (_, _) => live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        for (var round = 0; round < 4; round++)
        {
            for (var i = 0; i < 10; i++) await predictor.PredictAsync(photo, $"p{i}", options);
            TinyModels.Save(model, 3 + round);
        }

        Assert.Equal(40, live.Count);
        Assert.All(live.Skip(2), count => Assert.Equal(live[1], count));
    }

    [Fact]
    public async Task A_prediction_leaves_the_photo_as_it_was()
    {
        using var predictor = Predictor.ForFolder(TinyModels.Save(Path.Combine(folder, "m"), 4), new PredictorOptions(), CPU);
        using var photo = Photo(70, 30);
        using var before = photo.Clone();

        foreach (var method in ClassMapMethods.All)
            await predictor.PredictAsync(photo, "p", new PredictRequestOptions { Method = method });

        for (var y = 0; y < photo.Height; y++)
        for (var x = 0; x < photo.Width; x++)
            Assert.Equal(before[x, y], photo[x, y]);
    }

    [Fact]
    public void Maps_from_activations_of_a_served_forward_equal_the_methods_own_pass()
    {
        using var scope = NewDisposeScope();
        var network = TinyNetworks.Create(classes: 4);
        network.eval();
        var images = TinyNetworks.Images(3, 32);
        var target = new ClassTarget([3, 0, 1]);
        using var forward = network.ForwardWithActivations(images);

        foreach (var method in ClassMapMethods.All)
        {
            using var own = method.Compute(network, images, target);
            var fromActivations = method.FromActivations(network.Head, forward.Activations.detach(), target, images);
            Assert.True((own.Maps - fromActivations).abs().max().item<float>() < 1e-5f, method.Name);
        }
    }

    [Fact]
    public void Every_method_is_registered_once_with_a_name_and_a_label()
    {
        Assert.Equal(["cam", "gradcam", "gradcam++"], ClassMapMethods.Names);
        Assert.Equal(["CAM", "Grad-CAM", "Grad-CAM++"], ClassMapMethods.All.Select(m => m.Label));
        Assert.Same(ClassMapMethods.GradCamPlusPlus, ClassMapMethods.Find("GRADCAM++"));
        // Histories written before methods carried names stored the enum's.
        Assert.Same(ClassMapMethods.GradCamPlusPlus, ClassMapMethods.Find("GradCamPlusPlus"));
        Assert.Same(ClassMapMethods.GradCam, ClassMapMethods.Find("GradCam"));
        Assert.Null(ClassMapMethods.Find("scorecam"));
        Assert.Throws<ArgumentException>(() => ClassMapMethods.Parse("scorecam"));
    }
}
