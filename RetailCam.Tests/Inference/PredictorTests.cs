using RetailCam.Engine.Cam;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RetailCam.Tests.Inference;

public sealed class PredictorTests : IDisposable
{
    private static readonly string[] Categories = TinyModels.Categories;
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"retailcam-predict-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    private string SaveTinyModel(string name, long seed) => TinyModels.Save(Path.Combine(folder, name), seed, Categories);

    private static Image<Rgb24> Photo(int seed, int width = 90, int height = 70)
    {
        var random = new Random(seed);
        var image = new Image<Rgb24>(width, height);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++) row[x] = new Rgb24((byte)random.Next(256), (byte)(x * 2), (byte)(y * 3));
            }
        });
        return image;
    }

    [Fact]
    public async Task Concurrent_requests_are_batched_and_each_gets_its_own_answer()
    {
        using var predictor = Predictor.ForFolder(SaveTinyModel("m1", 1), new PredictorOptions { MaxBatch = 8, MaxWaitMilliseconds = 20 }, CPU);
        var photos = Enumerable.Range(0, 24).Select(i => Photo(i)).ToList();

        var alone = await predictor.PredictAsync(photos[5], "alone");
        var batchesBefore = predictor.BatchesRun;
        var together = await Task.WhenAll(photos.Select((p, i) => Task.Run(() => predictor.PredictAsync(p, $"photo-{i}"))));

        Assert.Equal(24, together.Length);
        Assert.All(together.Select((r, i) => (r, i)), t => Assert.Equal($"photo-{t.i}", t.r.Source));
        Assert.True(predictor.BatchesRun - batchesBefore < 24, $"{predictor.BatchesRun - batchesBefore} forward passes for 24 photos");
        Assert.All(together[5].Probabilities.Zip(alone.Probabilities), pair => Assert.Equal(pair.First, pair.Second, 4));
        foreach (var photo in photos) photo.Dispose();
    }

    [Fact]
    public async Task Channels_last_input_gives_the_same_answers_as_the_default_layout()
    {
        var model = SaveTinyModel("m1", 4);
        // float32 in both: the layout is under test, not bf16's rounding (which differs between layouts by ~1e-3).
        using var plain = Predictor.ForFolder(model, new PredictorOptions { ChannelsLast = false, Precision = InferencePrecision.Float32 }, CPU);
        using var channelsLast = Predictor.ForFolder(model, new PredictorOptions { ChannelsLast = true, Precision = InferencePrecision.Float32 }, CPU);
        var photos = Enumerable.Range(0, 3).Select(i => Photo(20 + i)).ToList();

        var expected = await Task.WhenAll(photos.Select((p, i) => plain.PredictAsync(p, $"p{i}")));
        var actual = await Task.WhenAll(photos.Select((p, i) => channelsLast.PredictAsync(p, $"p{i}")));

        for (var i = 0; i < photos.Count; i++)
        {
            Assert.All(actual[i].Probabilities.Zip(expected[i].Probabilities), pair => Assert.Equal(pair.Second, pair.First, 4));
            Assert.All(actual[i].Maps[0].Values.Zip(expected[i].Maps[0].Values), pair => Assert.Equal(pair.Second, pair.First, 3));
        }
        foreach (var photo in photos) photo.Dispose();
    }

    [Fact]
    public async Task OnnxRuntime_serving_gives_the_same_probabilities_maps_and_boxes_as_torchsharp()
    {
        var model = SaveTinyModel("m1", 5);
        using var torchSharp = Predictor.ForFolder(model, new PredictorOptions { ChannelsLast = false, Precision = InferencePrecision.Float32, BoxConfidence = 0 }, CPU);
        using var onnxRuntime = Predictor.ForFolder(model, new PredictorOptions { Runtime = InferenceRuntime.OnnxRuntime, BoxConfidence = 0 }, CPU);
        // Photos of other shapes are served at other sides: the export's H and W are symbolic.
        var photos = new[] { Photo(30), Photo(31, 64, 64), Photo(32, 120, 50) };

        var expected = await Task.WhenAll(photos.Select((p, i) => torchSharp.PredictAsync(p, $"p{i}")));
        var actual = await Task.WhenAll(photos.Select((p, i) => onnxRuntime.PredictAsync(p, $"p{i}")));

        for (var i = 0; i < photos.Length; i++)
        {
            Assert.Equal(expected[i].InputSize, actual[i].InputSize);
            Assert.Equal(expected[i].Top[0].Category, actual[i].Top[0].Category);
            Assert.All(actual[i].Probabilities.Zip(expected[i].Probabilities), pair => Assert.Equal(pair.Second, pair.First, 4));
            Assert.All(actual[i].Maps[0].Values.Zip(expected[i].Maps[0].Values), pair => Assert.Equal(pair.Second, pair.First, 4));
            Assert.Equal(expected[i].Boxes.Select(b => (b.Category, b.XMin, b.YMin, b.XMax, b.YMax)), actual[i].Boxes.Select(b => (b.Category, b.XMin, b.YMin, b.XMax, b.YMax)));
        }
        foreach (var photo in photos) photo.Dispose();
    }

    [Fact]
    public async Task Category_path_sums_leaf_probabilities_up_the_tree()
    {
        using var predictor = Predictor.ForFolder(SaveTinyModel("m1", 2), new PredictorOptions(), CPU);
        using var photo = Photo(3);

        var prediction = await predictor.PredictAsync(photo, "p", new PredictRequestOptions { TopK = 3 });

        Assert.Equal(3, prediction.Top.Count);
        Assert.Equal(1.0, prediction.Probabilities.Sum(), 4);
        var leaf = prediction.Top[0].Category;
        Assert.Equal(leaf, prediction.Path[^1].Category);
        Assert.Equal(leaf.Split('/'), prediction.Path.Select(l => l.Name));
        for (var level = 1; level < prediction.Path.Count; level++)
            Assert.True(prediction.Path[level].Probability <= prediction.Path[level - 1].Probability + 1e-6);
        var top = prediction.Path[0].Category;
        var expected = Categories.Select((c, i) => (c, i)).Where(t => t.c.StartsWith(top + "/", StringComparison.Ordinal)).Sum(t => prediction.Probabilities[t.i]);
        Assert.Equal(expected, prediction.Path[0].Probability, 5);
    }

    [Theory]
    [InlineData("cam")]
    [InlineData("gradcam")]
    [InlineData("gradcam++")]
    public async Task Maps_of_chosen_classes_come_back_normalised_and_boxes_lie_inside_the_photo(string name)
    {
        var method = ClassMapMethods.Parse(name);
        using var predictor = Predictor.ForFolder(SaveTinyModel("m1", 4), new PredictorOptions { BoxConfidence = 0 }, CPU);
        using var photo = Photo(5, 120, 80);

        var prediction = await predictor.PredictAsync(photo, "p", new PredictRequestOptions { Method = method, MapClasses = [1, 3] });

        Assert.Equal(new[] { 1, 3 }, prediction.Maps.Select(m => m.ClassIndex));
        Assert.All(prediction.Maps, m =>
        {
            Assert.Equal(method, m.Method);
            Assert.Equal((4, 4), (m.Width, m.Height));
            Assert.All(m.Values, v => Assert.InRange(v, 0f, 1f));
        });
        Assert.NotEmpty(prediction.Boxes);
        Assert.All(prediction.Boxes, b =>
        {
            Assert.InRange(b.XMin, 0, b.XMax - 1);
            Assert.InRange(b.XMax, 1, 120);
            Assert.InRange(b.YMax, 1, 80);
        });
    }

    [Fact]
    public async Task Publishing_a_newer_model_drops_no_request_and_later_requests_use_the_new_model()
    {
        var shelf = SaveTinyModel("shelf", 6);
        using var predictor = Predictor.ForFolder(shelf, new PredictorOptions { MaxBatch = 4 }, CPU, "shelf");
        using var photo = Photo(8);
        var old = await predictor.PredictAsync(photo, "before");

        var running = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            await Task.Delay(i);
            return await predictor.PredictAsync(photo, $"p{i}");
        })).ToList();
        await Task.Delay(15);
        SaveTinyModel("shelf", 7);
        var results = await Task.WhenAll(running);
        var after = await predictor.PredictAsync(photo, "after");

        static bool Same(Prediction a, Prediction b) => a.Probabilities.Zip(b.Probabilities).All(p => Math.Abs(p.First - p.Second) < 1e-6);
        Assert.False(Same(old, after), "the republished model must answer differently");
        Assert.Equal(40, results.Length);
        Assert.All(results, r => Assert.True(Same(r, old) || Same(r, after), "each answer comes from the old or the new model, whole"));
        Assert.All(results.Append(after), r => Assert.Equal("shelf", r.ModelId));
    }

    [Fact]
    public async Task One_predictor_serves_several_models_by_id_each_with_its_own_answer()
    {
        var first = SaveTinyModel("first", 21);
        var second = SaveTinyModel("second", 22);
        var folders = new Dictionary<string, string> { ["first"] = first, ["second"] = second };
        using var predictor = new Predictor(new PredictorOptions(), CPU, id => folders.TryGetValue(id, out var f) ? ModelSource.ForFolder(f, id) : null);
        using var alone = Predictor.ForFolder(second, new PredictorOptions(), CPU);
        using var photo = Photo(23);

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => predictor.PredictAsync(photo, $"p{i}", new PredictRequestOptions { ModelId = i % 2 == 0 ? "first" : "second" })));
        var reference = await alone.PredictAsync(photo, "reference");

        Assert.Equal(["first", "second", "first", "second", "first", "second", "first", "second"], answers.Select(a => a.ModelId));
        Assert.All(answers.Where(a => a.ModelId == "second"), a => Assert.All(a.Probabilities.Zip(reference.Probabilities), p => Assert.Equal(p.Second, p.First, 5)));
        Assert.NotEqual(answers[0].Probabilities[0], answers[1].Probabilities[0], 6);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => predictor.LoadAsync("third"));
    }

    [Fact]
    public async Task Asking_without_a_model_or_for_a_class_that_does_not_exist_fails_clearly()
    {
        using var predictor = new Predictor(new PredictorOptions(), CPU, _ => null);
        using var photo = Photo(9);
        Assert.Throws<InvalidOperationException>(() => { _ = predictor.PredictAsync(photo, "p"); });
        Assert.Throws<KeyNotFoundException>(() => { _ = predictor.PredictAsync(photo, "p", new PredictRequestOptions { ModelId = "nowhere" }); });

        using var served = Predictor.ForFolder(SaveTinyModel("m1", 10), new PredictorOptions(), CPU);
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = served.PredictAsync(photo, "p", new PredictRequestOptions { MapClasses = [9] }); });
        var fine = await served.PredictAsync(photo, "p");
        Assert.NotEmpty(fine.Top);
    }

    [Fact]
    public async Task A_larger_input_size_than_the_models_gives_a_finer_map_and_boxes_still_in_photo_coordinates()
    {
        var model = SaveTinyModel("m1", 12);
        using var photo = Photo(13, 300, 200);
        using var atModelSize = Predictor.ForFolder(model, new PredictorOptions { BoxConfidence = 0 }, CPU);
        using var larger = Predictor.ForFolder(model, new PredictorOptions { BoxConfidence = 0, InputSize = 128 }, CPU);

        var coarse = await atModelSize.PredictAsync(photo, "p");
        var fine = await larger.PredictAsync(photo, "p");

        Assert.Equal(64, atModelSize.InputSizeFor(atModelSize.Manifest!));
        Assert.Equal(128, larger.InputSizeFor(larger.Manifest!));
        Assert.Equal((4, 4), (coarse.Maps[0].Width, coarse.Maps[0].Height));
        Assert.Equal((8, 8), (fine.Maps[0].Width, fine.Maps[0].Height));
        Assert.NotEmpty(fine.Boxes);
        Assert.All(fine.Boxes, b =>
        {
            Assert.InRange(b.XMin, 0, b.XMax - 1);
            Assert.InRange(b.XMax, 1, 300);
            Assert.InRange(b.YMax, 1, 200);
        });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Predictor(new PredictorOptions { InputSize = 16 }, CPU, _ => null));
        // Configuration is checked by the same rule at start-up.
        static bool Valid(PredictorOptions o) => System.ComponentModel.DataAnnotations.Validator.TryValidateObject(o, new(o), null, validateAllProperties: true);
        Assert.False(Valid(new PredictorOptions { InputSize = 16 }));
        Assert.False(Valid(new PredictorOptions { InputSize = 2048 }));
        Assert.True(Valid(new PredictorOptions { InputSize = 224 }));
        Assert.True(Valid(new PredictorOptions()));
    }

    [Fact]
    public void Bilinear_upsampling_keeps_constant_maps_constant_and_corners_at_their_cells()
    {
        var constant = MapUpsampling.Bilinear(Enumerable.Repeat(0.5f, 16).ToArray(), 4, 4, 10, 7);
        Assert.All(constant, v => Assert.Equal(0.5f, v, 6));
        var ramp = MapUpsampling.Bilinear(new float[] { 0, 1, 0, 1 }, 2, 2, 8, 8);
        Assert.Equal(0f, ramp[0], 6);
        Assert.Equal(1f, ramp[7], 6);
    }
}
