using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RetailCam.Tests.Inference;

/// <summary>
/// The evaluator against answers worked out by hand: a model whose weights name a photo's dominant
/// colour, on folders whose contents (and deliberate mislabels) fix every count in advance.
/// </summary>
public sealed class EvaluatorTests : IDisposable
{
    private static readonly string[] Colours = ["red", "green", "blue"];
    private static readonly Rgb24 Red = new(255, 0, 0), Green = new(0, 255, 0), Blue = new(0, 0, 255), Black = new(0, 0, 0);
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"retailcam-eval-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    /// <summary>
    /// A narrow VGG16 CAM network that passes the three normalised colour channels straight through
    /// (centre taps of 1, a bias of 3 on the first layer keeps them above ReLU's cut) to a head whose
    /// class c reads channel c. After torchvision normalisation plus 3 a red pixel gives channels
    /// (5.25, 0.96, 1.20), green (0.88, 5.43, 1.20), blue (0.88, 0.96, 5.64), black (0.88, 0.96, 1.20):
    /// the logits are the channel means, so the dominant colour wins and its class map is bright
    /// exactly where that colour is.
    /// </summary>
    private string ColourModel()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        using var network = CamNetworkFactory.CreateNew(BackboneKind.Vgg16, Colours.Length, headHiddenChannels: 3, backboneWidth: 0.0625);
        using (no_grad())
        {
            var firstConv = true;
            foreach (var (name, parameter) in network.named_parameters())
            {
                parameter.zero_();
                if (parameter.dim() == 4)
                {
                    for (var c = 0; c < 3; c++) parameter[c, c, 1, 1] = tensor(1f);
                }
                else if (parameter.dim() == 2)
                {
                    for (var c = 0; c < 3; c++) parameter[c, c] = tensor(1f);
                }
                else if (firstConv && name.StartsWith("backbone", StringComparison.Ordinal))
                {
                    for (var c = 0; c < 3; c++) parameter[c] = tensor(3f);
                    firstConv = false;
                }
            }
        }
        var model = Path.Combine(folder, "model");
        ModelFolder.Save(model, network, ModelManifest.Describe(network, Colours, 64));
        return model;
    }

    private static void SavePhoto(string path, Rgb24 colour, Rectangle? square = null, Rgb24? squareColour = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = new Image<Rgb24>(64, 64, colour);
        if (square is { } r)
        {
            for (var y = r.Top; y < r.Bottom; y++)
                for (var x = r.Left; x < r.Right; x++) image[x, y] = squareColour!.Value;
        }
        image.SaveAsPng(path);
    }

    private async Task<EvaluationReport> Evaluate(string data, EvaluationSplit split = EvaluationSplit.All)
    {
        using var predictor = Predictor.ForFolder(ColourModel(), new PredictorOptions { Precision = InferencePrecision.Float32 }, TorchSharp.torch.CPU);
        return await new Evaluator(predictor, new ImageFileDecoder()).EvaluateAsync(data, split);
    }

    [Fact]
    public async Task A_catalogue_is_scored_by_its_folders_with_the_confusion_counted_by_hand()
    {
        var data = Path.Combine(folder, "catalogue");
        for (var i = 0; i < 3; i++) SavePhoto(Path.Combine(data, "red", $"red-{i}.png"), Red);
        SavePhoto(Path.Combine(data, "red", "green-filed-as-red.png"), Green);
        for (var i = 0; i < 2; i++) SavePhoto(Path.Combine(data, "green", $"green-{i}.png"), Green);
        SavePhoto(Path.Combine(data, "green", "blue-filed-as-green.png"), Blue);
        for (var i = 0; i < 2; i++) SavePhoto(Path.Combine(data, "blue", $"blue-{i}.png"), Blue);

        var report = await Evaluate(data);

        Assert.Equal(Colours, report.Categories);
        Assert.Equal(9, report.Images);
        Assert.Equal(0, report.Failed);
        // Rows: true red, green, blue; columns: predicted red, green, blue.
        Assert.Equal([[3, 1, 0], [0, 2, 1], [0, 0, 2]], report.Confusion);
        Assert.Equal(7.0 / 9, report.Accuracy, 12);
        Assert.Equal(0.75, report.PerClass["red"], 12);
        Assert.Equal(2.0 / 3, report.PerClass["green"], 12);
        Assert.Equal(1.0, report.PerClass["blue"], 12);
        Assert.Null(report.MaxBoxAcc);
    }

    [Fact]
    public async Task A_box_set_is_scored_for_classes_and_boxes_with_a_wrong_box_counted_as_a_miss()
    {
        var data = Path.Combine(folder, "scenes");
        var topLeft = new Rectangle(0, 0, 32, 32);
        var bottomRight = new Rectangle(32, 32, 32, 32);
        SavePhoto(Path.Combine(data, "red-top-left.png"), Black, topLeft, Red);
        SavePhoto(Path.Combine(data, "blue-bottom-right.png"), Black, bottomRight, Blue);
        SavePhoto(Path.Combine(data, "red-boxed-in-the-wrong-corner.png"), Black, topLeft, Red);
        BoxesCsv.Write(Path.Combine(data, BoxesCsv.FileName),
        [
            new BoxRow("red-top-left.png", "red", 0, 0, 32, 32),
            new BoxRow("blue-bottom-right.png", "blue", 32, 32, 64, 64),
            new BoxRow("red-boxed-in-the-wrong-corner.png", "red", 32, 32, 64, 64),
        ]);

        var report = await Evaluate(data);

        Assert.Equal(3, report.Images);
        Assert.Equal([[2, 0, 0], [0, 0, 0], [0, 0, 1]], report.Confusion);
        Assert.Equal(1.0, report.Accuracy, 12);
        Assert.Equal(3, report.LocalisationSamples);
        // The two honest boxes are found; no threshold can draw a box over a corner the map leaves dark.
        Assert.Equal(2.0 / 3, report.MaxBoxAcc!.Value, 12);
    }
}
