using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Export;
using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using RetailCam.Tests.Imaging;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

/// <summary>
/// The exported ONNX file in ONNX Runtime against the served TorchSharp network (float32, BatchNorm
/// folded, channels-last, as the predictor prepares it): logits, features and class maps, on photo-like
/// images of three sizes and batch sizes 1, 2 and 3 through one session, so N, H and W are symbolic.
/// </summary>
public sealed class OnnxExportTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-4;
    private static readonly string[] Categories = ["Apparel/Tops/Shirt", "Apparel/Tops/Coat", "Apparel/Bottoms/Trouser", "Footwear/Sneaker"];

    private readonly TemporaryFolder temporary = new();

    public void Dispose() => temporary.Dispose();

    [Fact]
    public void A_tiny_vgg16_model_exports_to_a_graph_that_computes_what_the_served_network_does()
    {
        var folder = TinyModels.Save(temporary.File("vgg"), seed: 21);

        AssertParity(folder, "VGG16 ×0.0625, head 8");
    }

    [Fact]
    public void The_pretrained_resnet18_cut_after_layer3_with_its_cntk_mean_image_exports_to_the_same_network()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        var folder = temporary.File("layer3");
        using (var network = CamNetworkFactory.CreatePretrainedResNet18(Categories.Length))
            ModelFolder.Save(folder, network, ModelManifest.Describe(network, Categories, inputSize: 128));

        var graph = AssertParity(folder, "ResNet18 layer3 (ImageNet weights, CNTK mean image)");

        // Every convolution of the network is one Conv node carrying its folded BatchNorm; none is left over.
        using var loaded = ModelFolder.Load(folder);
        Assert.Equal(loaded.Network.modules().OfType<TorchSharp.Modules.Conv2d>().Count(), graph.Node.Count(n => n.OpType == "Conv"));
        Assert.DoesNotContain(graph.Node, n => n.OpType == "BatchNormalization");
        Assert.Contains(graph.Node, n => n.OpType == "Resize");
    }

    [Fact]
    public void The_pretrained_resnet18_with_a_dilated_layer4_exports_to_the_same_network()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        var folder = temporary.File("dilated");
        using (var network = CamNetworkFactory.CreatePretrainedResNet18(Categories.Length, trunk: ResNet18CamTrunk.DilatedLayer4))
            ModelFolder.Save(folder, network, ModelManifest.Describe(network, Categories, inputSize: 96));

        var graph = AssertParity(folder, "ResNet18 dilated layer4 (ImageNet weights)");

        Assert.Contains(graph.Node, n => n.OpType == "Conv" && n.Attribute.Any(a => a.Name == "dilations" && a.Ints.SequenceEqual([2L, 2L])));
    }

    [Fact]
    public void A_resnet18_with_torchvision_preprocessing_and_random_weights_exports_to_the_same_network()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        random.manual_seed(41);
        var folder = temporary.File("torchvision");
        using (var network = CamNetworkFactory.CreateNew(BackboneKind.ResNet18, Categories.Length))
        {
            RandomiseBatchNormStatistics(network);
            ModelFolder.Save(folder, network, ModelManifest.Describe(network, Categories, inputSize: 64));
        }

        var graph = AssertParity(folder, "ResNet18 layer3 (random weights, torchvision mean/std)");

        Assert.DoesNotContain(graph.Node, n => n.OpType is "Resize" or "Gather");
    }

    [Fact]
    public void The_metadata_names_the_categories_in_logit_order_the_sides_and_how_to_compute_a_class_map()
    {
        var folder = TinyModels.Save(temporary.File("meta"), seed: 22);
        ModelFolder.UpdateManifest(folder, m => m with { ServeInputSize = 96, Temperature = 1.5, UnknownThreshold = 0.25, Output = ClassOutput.Sigmoid });

        var export = OnnxExport.FromFolder(folder);
        using var session = new InferenceSession(export.Bytes);

        var metadata = session.ModelMetadata;
        Assert.Equal("RetailCam", metadata.ProducerName);
        var map = metadata.CustomMetadataMap;
        Assert.Equal(TinyModels.Categories, JsonSerializer.Deserialize<string[]>(map[OnnxExport.Metadata.Categories]));
        Assert.Equal("64", map[OnnxExport.Metadata.InputSize]);
        Assert.Equal("96", map[OnnxExport.Metadata.ServeInputSize]);
        Assert.Equal("vgg16", map[OnnxExport.Metadata.Backbone]);
        Assert.Equal("sigmoid", map[OnnxExport.Metadata.Output]);
        Assert.Equal("1.5", map[OnnxExport.Metadata.Temperature]);
        Assert.Equal("0.25", map[OnnxExport.Metadata.UnknownThreshold]);
        Assert.Equal("16", map[OnnxExport.Metadata.FeatureStride]);
        Assert.Equal(OnnxExport.ClassWeightsName, map[OnnxExport.Metadata.ClassWeights]);
        Assert.Contains("map_c = sum_k W[c,k] * features[k]", map[OnnxExport.Metadata.ClassMap], StringComparison.Ordinal);

        var model = ModelProto.Parser.ParseFrom(export.Bytes);
        Assert.Equal(OnnxExport.Opset, model.OpsetImport.Single(o => o.Domain == "").Version);
        // N, H and W are named dimensions the runtime leaves open; only the channels are fixed.
        var input = session.InputMetadata[OnnxExport.InputName];
        Assert.Equal([-1, 3, -1, -1], input.Dimensions);
        Assert.Equal(["N", "", "H", "W"], input.SymbolicDimensions);
        Assert.Equal([-1, TinyModels.Categories.Length], session.OutputMetadata[OnnxExport.LogitsName].Dimensions);
        Assert.Equal([-1, 8, -1, -1], session.OutputMetadata[OnnxExport.FeaturesName].Dimensions);
        // The class weights a runtime computes maps with are the Gemm's B, by the name the metadata gives.
        var gemm = model.Graph.Node.Single(n => n.OpType == "Gemm");
        Assert.Equal(map[OnnxExport.Metadata.ClassWeights], gemm.Input[1]);
        Assert.Equal(OnnxExport.LogitsName, gemm.Output[0]);
    }

    [Fact]
    public void Onnx_runtime_refuses_a_graph_with_a_weight_missing_so_a_load_that_succeeds_means_a_well_formed_graph()
    {
        var folder = TinyModels.Save(temporary.File("broken"), seed: 23);
        var model = ModelProto.Parser.ParseFrom(OnnxExport.FromFolder(folder).Bytes);
        using (new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model))) { }

        model.Graph.Initializer.Remove(model.Graph.Initializer.First(i => i.Name == OnnxExport.ClassWeightsName));

        Assert.ThrowsAny<OnnxRuntimeException>(() => new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model)).Dispose());
    }

    [Fact]
    public async Task The_predictor_and_the_exported_file_give_the_same_probabilities_and_class_map_for_a_photo()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        var folder = temporary.File("served");
        using (var network = CamNetworkFactory.CreatePretrainedResNet18(Categories.Length))
            ModelFolder.Save(folder, network, ModelManifest.Describe(network, Categories, inputSize: 96));
        var manifest = ModelFolder.UpdateManifest(folder, m => m with { Temperature = 1.7 });
        using var photo = TestImages.Coordinates(150, 110);
        using var predictor = Predictor.ForFolder(folder, new PredictorOptions { Precision = InferencePrecision.Float32 }, CPU);

        var prediction = await predictor.PredictAsync(photo, "photo");

        var bytes = OnnxExport.FromFolder(folder).Bytes;
        using var session = new InferenceSession(bytes);
        using var scope = NewDisposeScope();
        var images = ImageTensors.ToBatch([photo], prediction.InputSize, prediction.InputSize, FitMode.Stretch);
        var (logits, _, features, featureShape) = Run(session, images);
        var temperature = double.Parse(session.ModelMetadata.CustomMetadataMap[OnnxExport.Metadata.Temperature], System.Globalization.CultureInfo.InvariantCulture);
        var scaled = logits.Select(l => l / temperature).ToArray();
        var probabilities = scaled.Select(l => Math.Exp(l - scaled.Max())).ToArray();
        var sum = probabilities.Sum();
        var probabilityDiff = Enumerable.Range(0, Categories.Length).Max(c => Math.Abs(probabilities[c] / sum - prediction.Probabilities[c]));
        Assert.InRange(probabilityDiff, 0, Tolerance);

        var top = prediction.Maps[0];
        var weights = ClassWeights(bytes);
        var (k, h, w) = ((int)featureShape[1], (int)featureShape[2], (int)featureShape[3]);
        Assert.Equal((w, h), (top.Width, top.Height));
        var map = Normalised(RawMap(features, weights, 0, top.ClassIndex, k, h * w));
        var largest = top.Values.Zip(map, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"predictor vs ONNX at {prediction.InputSize} px, T {manifest.Temperature}: probabilities max |diff| {probabilityDiff:G3}, class map {largest:G3}");
        Assert.InRange(largest, 0, Tolerance);
    }

    [Fact]
    public void A_backbone_the_export_does_not_know_is_refused_with_its_name_and_an_unfolded_resnet_is_sent_back_to_be_folded()
    {
        using var tiny = TinyNetworks.Create(classes: 3);
        var manifest = ModelManifest.Describe(tiny, ["A/a", "A/b", "B"], inputSize: 32);
        tiny.eval();

        var refused = Assert.Throws<OnnxExportException>(() => OnnxExport.Build(tiny, manifest));
        Assert.Contains(nameof(TinyBackbone), refused.Message, StringComparison.Ordinal);

        using var resnet = CamNetworkFactory.CreateNew(BackboneKind.ResNet18, 3);
        var unfolded = Assert.Throws<ArgumentException>(() => OnnxExport.Build(resnet, ModelManifest.Describe(resnet, ["A/a", "A/b", "B"], inputSize: 32)));
        Assert.Contains("FoldBatchNorm", unfolded.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Exports <paramref name="folder"/>, loads it in ONNX Runtime and runs every input batch through it and
    /// through the served TorchSharp copy; asserts logits, features and class maps agree. Returns the graph.
    /// </summary>
    private GraphProto AssertParity(string folder, string label)
    {
        using var scope = NewDisposeScope();
        var export = OnnxExport.FromFolder(folder);
        using var session = new InferenceSession(export.Bytes);
        var weights = ClassWeights(export.Bytes);
        using var served = ModelFolder.Load(folder);
        Predictor.PrepareForServing(served.Network, new PredictorOptions { Precision = InferencePrecision.Float32 }, reducedPrecision: false);
        var head = served.Network.Head;
        var classes = head.ClassCount;

        double logitsDiff = 0, featuresDiff = 0, mapsRelativeDiff = 0, normalisedDiff = 0, largestLogit = 0, largestFeature = 0;
        foreach (var images in Inputs())
        {
            using var batchScope = NewDisposeScope();
            float[] torchLogits, torchActivations, torchRawMaps;
            long[] activationShape;
            Tensor activations;
            using (inference_mode())
            {
                using var forward = served.Network.ForwardWithActivations(TensorLayout.ToChannelsLast(images));
                torchLogits = forward.Logits.contiguous().data<float>().ToArray();
                activations = forward.Activations.contiguous();
                torchActivations = activations.data<float>().ToArray();
                activationShape = activations.shape;
                torchRawMaps = head.ClassMaps(activations, Enumerable.Range(0, classes).Select(c => (long)c).ToArray()).contiguous().data<float>().ToArray();
            }
            var (logits, logitShape, features, featureShape) = Run(session, images);
            Assert.Equal([images.shape[0], classes], logitShape);
            Assert.Equal(activationShape, featureShape);
            logitsDiff = Math.Max(logitsDiff, MaxAbsDiff(torchLogits, logits));
            featuresDiff = Math.Max(featuresDiff, MaxAbsDiff(torchActivations, features));
            largestLogit = Math.Max(largestLogit, logits.Max(Math.Abs));
            largestFeature = Math.Max(largestFeature, features.Max(Math.Abs));

            // Class maps as any runtime computes them from the two outputs and the Gemm's B, against the engine's.
            var (n, k, cells) = ((int)featureShape[0], (int)featureShape[1], (int)(featureShape[2] * featureShape[3]));
            var top1 = Enumerable.Range(0, n).Select(i => (long)ArgMax(torchLogits.AsSpan(i * classes, classes))).ToArray();
            float[] engineMaps;
            using (inference_mode())
                engineMaps = ClassMapMethods.Cam.FromActivations(head, activations, new ClassTarget(top1)).contiguous().data<float>().ToArray();
            var scale = torchRawMaps.Max(Math.Abs);
            for (var i = 0; i < n; i++)
            {
                for (var c = 0; c < classes; c++)
                {
                    var ours = RawMap(features, weights, i, c, k, cells);
                    var theirs = torchRawMaps.AsSpan((i * classes + c) * cells, cells).ToArray();
                    mapsRelativeDiff = Math.Max(mapsRelativeDiff, MaxAbsDiff(theirs, ours) / scale);
                }
                var engine = engineMaps.AsSpan(i * cells, cells).ToArray();
                var raw = RawMap(features, weights, i, (int)top1[i], k, cells);
                // A map that ReLU leaves flat has no shape to compare: its normalisation divides rounding by rounding.
                if (raw.Max() - Math.Max(0, raw.Min()) > 1e-3 * scale)
                    normalisedDiff = Math.Max(normalisedDiff, MaxAbsDiff(engine, Normalised(raw)));
            }
        }
        output.WriteLine($"{label}: {export.Bytes.Length:N0} bytes; max |diff| logits {logitsDiff:G3} (largest |logit| {largestLogit:G3}), "
            + $"features {featuresDiff:G3} (largest {largestFeature:G3}), raw class maps {mapsRelativeDiff:G3} relative, normalised top-1 maps {normalisedDiff:G3}");
        Assert.InRange(logitsDiff, 0, Tolerance);
        Assert.InRange(featuresDiff, 0, Tolerance);
        Assert.InRange(mapsRelativeDiff, 0, Tolerance);
        Assert.InRange(normalisedDiff, 0, Tolerance);
        return ModelProto.Parser.ParseFrom(export.Bytes).Graph;
    }

    /// <summary>
    /// RGB 0–255 batches: three photo-like images at 96², a real screenshot of the app stretched to 80 × 64
    /// (W × H), and two scenes of shapes at 90 × 75, whose odd sides make every floor in the pooling count.
    /// </summary>
    private static IEnumerable<Tensor> Inputs()
    {
        yield return cat([SyntheticPhoto.Create(96, 1), SyntheticPhoto.Create(96, 2), SyntheticPhoto.Create(96, 3)], 0);
        using (var screenshot = Image.Load<Rgb24>(Path.Combine(RepositoryRoot(), "docs", "screenshots", "predict.png")))
            yield return ImageTensors.ToBatch([screenshot], width: 80, height: 64, FitMode.Stretch);
        var shapes = new SyntheticShapes(2, 96, seed: 5).Batch([0, 1]);
        yield return nn.functional.interpolate(shapes, [75, 90], mode: InterpolationMode.Bilinear, align_corners: false).clamp(0, 255);
    }

    private static (float[] Logits, long[] LogitShape, float[] Features, long[] FeatureShape) Run(InferenceSession session, Tensor images)
    {
        var data = images.contiguous().data<float>().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(data, images.shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [OnnxExport.InputName], [input], [OnnxExport.LogitsName, OnnxExport.FeaturesName]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[0].GetTensorTypeAndShape().Shape,
            outputs[1].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorTypeAndShape().Shape);
    }

    /// <summary>The class weights [C,K] read from the file itself, by the name its metadata gives.</summary>
    private static float[] ClassWeights(byte[] onnx)
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        var name = model.MetadataProps.Single(p => p.Key == OnnxExport.Metadata.ClassWeights).Value;
        return MemoryMarshal.Cast<byte, float>(model.Graph.Initializer.Single(i => i.Name == name).RawData.Span).ToArray();
    }

    /// <summary>map_c = Σ_k W[c,k] · features[k] for image <paramref name="image"/>, as the metadata's class_map says.</summary>
    private static float[] RawMap(float[] features, float[] weights, int image, int classIndex, int channels, int cells)
    {
        var map = new float[cells];
        for (var k = 0; k < channels; k++)
        {
            var weight = weights[classIndex * channels + k];
            var plane = features.AsSpan((image * channels + k) * cells, cells);
            for (var j = 0; j < cells; j++) map[j] += weight * plane[j];
        }
        return map;
    }

    /// <summary>ReLU, then scaled to [0,1]: what RetailCam shows (the metadata's class_map).</summary>
    private static float[] Normalised(float[] raw)
    {
        var relu = raw.Select(v => Math.Max(0, v)).ToArray();
        var (min, max) = (relu.Min(), relu.Max());
        var range = Math.Max(max - min, 1e-12f);
        return relu.Select(v => (v - min) / range).ToArray();
    }

    private static void RandomiseBatchNormStatistics(CamNetwork network)
    {
        using var noGrad = no_grad();
        foreach (var batchNorm in network.modules().OfType<TorchSharp.Modules.BatchNorm2d>())
        {
            var channels = batchNorm.running_mean!.shape[0];
            batchNorm.running_mean.copy_(randn(channels) * 0.1);
            batchNorm.running_var!.copy_(rand(channels) + 0.5);
            batchNorm.weight!.copy_(rand(channels) + 0.5);
            batchNorm.bias!.copy_(randn(channels) * 0.1);
        }
    }

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0.0;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "RetailCam.sln"))) return folder.FullName;
        throw new InvalidOperationException($"No RetailCam.sln above {AppContext.BaseDirectory}.");
    }
}
