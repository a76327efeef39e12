using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Onnx;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Models.Storage;
using TorchSharp;
using TorchSharp.Modules;
using static RetailCam.Engine.Models.Export.OnnxGraphWriter;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Export;

/// <summary>An exported model: the ONNX file's bytes and what a caller reports about them.</summary>
public sealed record OnnxExportResult(byte[] Bytes, IReadOnlyList<string> Categories, int InputSize, int? ServeInputSize, string Backbone, int Opset);

/// <summary>
/// Writes the network a model folder serves as an ONNX graph, by hand, because TorchSharp has no
/// exporter (dotnet/TorchSharp#1281). Input <c>images</c> [N,3,H,W], RGB float 0–255, with N, H and W
/// symbolic; the model's own preprocessing is the graph's first nodes, as it is the network's first
/// module. Outputs <c>features</c> [N,K,h,w], the activations the class weights apply to (the CAM head's
/// conv 3×3 + ReLU), and <c>logits</c> [N,C] (global average pooling, then Gemm with the class weights
/// as its B initializer). The metadata carries the categories in logit order and what a runtime needs
/// to turn the outputs into probabilities and class maps (docs/ARCHITECTURE.md, "ONNX export").
/// </summary>
/// <remarks>
/// The graph is the served copy's arithmetic (<c>Predictor.PrepareForServing</c>): every BatchNorm is
/// folded into the convolution before it, so a Conv carries weight and bias and no BatchNormalization
/// node remains. That is what the served forward computes, so the two can be compared to float rounding,
/// and what ONNX Runtime would do on load anyway; the file is also smaller by the BatchNorm tensors.
/// Every Conv and MaxPool takes its stride, padding and dilation from the TorchSharp module it stands
/// for, never from a second copy of the architecture's numbers.
/// </remarks>
public static class OnnxExport
{
    /// <summary>ONNX operator set 17: Shape with start/end and Resize with its current modes are there since 15 and 13.</summary>
    public const int Opset = 17;

    // IR version 8 came with opset 17 (ONNX 1.12): every runtime that reads opset 17 reads it.
    private const long IrVersion = 8;

    public const string Format = "onnx";
    public const string InputName = "images";
    public const string FeaturesName = "features";
    public const string LogitsName = "logits";

    /// <summary>The Gemm's B initializer, [C,K]: row c holds the weights class c gives each channel of <see cref="FeaturesName"/>.</summary>
    public const string ClassWeightsName = "head.classifier.weight";

    public const string ClassBiasName = "head.classifier.bias";

    /// <summary>Keys of the model's metadata_props.</summary>
    public static class Metadata
    {
        /// <summary>JSON array of category paths in logit order.</summary>
        public const string Categories = "categories";

        /// <summary>The side (px) the model was trained at.</summary>
        public const string InputSize = "input_size";

        /// <summary>The largest side photos are served at, chosen after training (absent: the training side).</summary>
        public const string ServeInputSize = "serve_input_size";

        public const string Backbone = "backbone";

        /// <summary>Where a ResNet18 trunk ends: layer3 or dilated-layer4.</summary>
        public const string Trunk = "trunk";

        /// <summary>softmax or sigmoid: how the served model turns logits into probabilities.</summary>
        public const string Output = "output";

        /// <summary>Logits are divided by this before the softmax or sigmoid.</summary>
        public const string Temperature = "temperature";

        /// <summary>A photo whose best probability is below this is "not one of your categories" (absent: none).</summary>
        public const string UnknownThreshold = "unknown_threshold";

        /// <summary>Input pixels per cell of <see cref="FeaturesName"/>.</summary>
        public const string FeatureStride = "feature_stride";

        /// <summary>The name of the class-weight initializer.</summary>
        public const string ClassWeights = "class_weights";

        /// <summary>How to compute a class map from the outputs.</summary>
        public const string ClassMap = "class_map";
    }

    /// <summary>What <see cref="Metadata.ClassMap"/> says.</summary>
    public const string ClassMapFormula =
        "map_c = sum_k W[c,k] * features[k], W = initializer " + ClassWeightsName + " [C,K] (the Gemm's B); mean(map_c) + bias_c = logits[c]. "
        + "RetailCam shows ReLU(map_c) scaled to [0,1] per image, upsampled bilinearly (half-pixel centres) to the photo.";

    /// <summary>
    /// Exports the model <paramref name="modelFolder"/> serves now (a slot's published version, or the
    /// folder itself). Loads its own float32 copy on the CPU; throws <see cref="ModelLoadException"/> when
    /// the folder cannot be loaded and <see cref="OnnxExportException"/> when the network has no ONNX form.
    /// </summary>
    public static OnnxExportResult FromFolder(string modelFolder)
    {
        using var loaded = ModelFolder.Load(modelFolder, CPU);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var network = loaded.Network;
        network.eval();
        network.FoldBatchNorm();
        var manifest = loaded.Manifest;
        var bytes = Build(network, manifest).ToByteArray();
        return new OnnxExportResult(bytes, manifest.Categories, manifest.InputSize, manifest.ServeInputSize, BackboneName(manifest.Backbone), Opset);
    }

    /// <summary>Exports <paramref name="modelFolder"/> into <paramref name="path"/>, written whole or not at all (<see cref="WriteAtomically"/>).</summary>
    public static OnnxExportResult WriteFile(string modelFolder, string path)
    {
        var result = FromFolder(modelFolder);
        WriteAtomically(path, result.Bytes);
        return result;
    }

    /// <summary>Writes <paramref name="path"/> whole, flushed to disk, or not at all (<see cref="AtomicFile"/>).</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes) => AtomicFile.Write(path, bytes, flushToDisk: true);

    /// <summary>
    /// The ONNX model of a network prepared for serving in float32: in evaluation mode with its BatchNorm
    /// folded (<see cref="CamNetwork.FoldBatchNorm"/>); <paramref name="manifest"/> supplies the metadata.
    /// </summary>
    public static ModelProto Build(CamNetwork network, ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(manifest);
        if (network.ComputeType != ScalarType.Float32)
            throw new ArgumentException($"The export writes float32 weights; this copy computes in {network.ComputeType}.", nameof(network));
        if (manifest.Categories.Count != network.Head.ClassCount)
            throw new ArgumentException($"The manifest lists {manifest.Categories.Count} categories for a head of {network.Head.ClassCount} classes.", nameof(manifest));

        using var scope = NewDisposeScope();
        var graph = new OnnxGraphWriter("retailcam_cam");
        graph.Input(InputName, Dim("N"), Dim(3), Dim("H"), Dim("W"));
        var x = Normalisation(graph, network.Normalization, InputName);
        x = network.Backbone switch
        {
            ResNet18 resnet => ResNetTrunk(graph, resnet, x),
            Vgg16Backbone vgg => VggTrunk(graph, vgg, x),
            var other => throw new OnnxExportException($"The backbone {other.GetType().Name} has no ONNX form here: the export writes ResNet18 and VGG16 trunks."),
        };
        Head(graph, network.Head, x);
        graph.Output(FeaturesName, Dim("N"), Dim(network.Head.HiddenChannels), Dim("h"), Dim("w"));
        graph.Output(LogitsName, Dim("N"), Dim(network.Head.ClassCount));
        graph.Graph.DocString = "RetailCam CAM network. images: [N,3,H,W] RGB float 0-255 (preprocessing inside); "
            + "features: [N,K,h,w] activations of the CAM head; logits: [N,C] in the order of the metadata 'categories'.";

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "RetailCam",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "",
            Domain = "retailcam",
            ModelVersion = 1,
            DocString = graph.Graph.DocString,
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in MetadataOf(network, manifest))
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    // Category paths as they are written, non-ASCII letters too: the value is read by programs and people alike.
    private static readonly JsonSerializerOptions CategoriesJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static IEnumerable<(string Key, string Value)> MetadataOf(CamNetwork network, ModelManifest manifest)
    {
        yield return (Metadata.Categories, JsonSerializer.Serialize(manifest.Categories, CategoriesJson));
        yield return (Metadata.InputSize, Number(manifest.InputSize));
        if (manifest.ServeInputSize is { } serve) yield return (Metadata.ServeInputSize, Number(serve));
        yield return (Metadata.Backbone, BackboneName(manifest.Backbone));
        if (network.Backbone is ResNet18 resnet)
            yield return (Metadata.Trunk, resnet.Options is { LastStage: 4, DilateLayer4: true } ? "dilated-layer4" : "layer3");
        yield return (Metadata.Output, manifest.Output.ToString().ToLowerInvariant());
        yield return (Metadata.Temperature, manifest.Temperature.ToString("R", CultureInfo.InvariantCulture));
        if (manifest.UnknownThreshold is { } unknown) yield return (Metadata.UnknownThreshold, unknown.ToString("R", CultureInfo.InvariantCulture));
        yield return (Metadata.FeatureStride, Number(network.Backbone.FeatureStride));
        yield return (Metadata.ClassWeights, ClassWeightsName);
        yield return (Metadata.ClassMap, ClassMapFormula);
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string BackboneName(BackboneKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary><see cref="InputNormalization.forward"/> as nodes, in its order: channel swap, scale, minus the mean (image), times 1/std.</summary>
    private static string Normalisation(OnnxGraphWriter graph, InputNormalization normalization, string input)
    {
        var spec = normalization.Spec;
        var x = input;
        if (spec.ChannelOrder == "BGR")
            x = graph.Node("Gather", "normalization.to_bgr", [x, graph.Int64s("normalization.bgr_order", [2, 1, 0])], attributes: Int("axis", 1));
        if (spec.Scale != 1f)
            x = graph.Node("Mul", "normalization.scale", [x, graph.Floats("normalization.scale_factor", [spec.Scale], [])]);
        var mean = graph.Initializer("normalization.mean", normalization.Mean);
        if (normalization.Mean.shape[2] > 1)
        {
            // The mean image follows the input's size as in forward: bilinear with half-pixel centres
            // (PyTorch's align_corners=false), no antialiasing; at its own size the resize is the identity.
            var side = graph.Node("Shape", "normalization.input_side", [x], attributes: Int("start", 2));
            var sizes = graph.Node("Concat", "normalization.mean_sizes", [graph.Int64s("normalization.mean_leading_sizes", [1, 3]), side], attributes: Int("axis", 0));
            mean = graph.Node("Resize", "normalization.mean_resized", [mean, "", "", sizes],
                attributes: [String("mode", "linear"), String("coordinate_transformation_mode", "half_pixel")]);
        }
        x = graph.Node("Sub", "normalization.centre", [x, mean]);
        return graph.Node("Mul", "normalization.whiten", [x, graph.Initializer("normalization.inverse_std", normalization.InverseStd)]);
    }

    /// <summary><see cref="ResNet18.forward"/> with BatchNorm folded: stem conv, ReLU, max-pool, then every BasicBlock.</summary>
    private static string ResNetTrunk(OnnxGraphWriter graph, ResNet18 resnet, string input)
    {
        if (!resnet.BatchNormFolded)
            throw new ArgumentException("Fold the network's BatchNorm first (CamNetwork.FoldBatchNorm): the export writes the served copy.", nameof(resnet));
        if (resnet.Options.GlobalPool)
            throw new OnnxExportException("This ResNet18 pools its map away; the CAM head needs the map.");
        var x = Conv(graph, "backbone.conv1", resnet.StemConv, input);
        x = Relu(graph, "backbone.relu", x);
        x = MaxPool(graph, "backbone.maxpool", resnet.StemPool, x);
        for (var s = 0; s < resnet.Stages.Count; s++)
        {
            var i = 0;
            foreach (var child in resnet.Stages[s].children())
            {
                var prefix = string.Create(CultureInfo.InvariantCulture, $"backbone.layer{s + 1}.{i++}");
                if (child is not ResNetBasicBlock block)
                    throw new OnnxExportException($"{prefix} is a {child.GetType().Name}; the export knows ResNet BasicBlocks only.");
                // The block's forward: relu(conv2(relu(conv1(x))) + shortcut(x)), shortcut the identity or a strided 1×1 conv.
                var main = Relu(graph, $"{prefix}.relu1", Conv(graph, $"{prefix}.conv1", block.Conv1, x));
                main = Conv(graph, $"{prefix}.conv2", block.Conv2, main);
                var shortcut = block.ShortcutConv is { } projection ? Conv(graph, $"{prefix}.downsample.0", projection, x) : x;
                x = Relu(graph, $"{prefix}.relu", graph.Node("Add", $"{prefix}.add", [main, shortcut]));
            }
        }
        return x;
    }

    /// <summary><see cref="Vgg16Backbone.forward"/>: its <c>features</c> stack, layer for layer, under torchvision's indices.</summary>
    private static string VggTrunk(OnnxGraphWriter graph, Vgg16Backbone vgg, string input)
    {
        var x = input;
        foreach (var (name, layer) in vgg.Features.named_children())
        {
            var path = $"backbone.features.{name}";
            x = layer switch
            {
                Conv2d conv => Conv(graph, path, conv, x),
                ReLU => Relu(graph, path, x),
                MaxPool2d pool => MaxPool(graph, path, pool, x),
                _ => throw new OnnxExportException($"{path} is a {layer.GetType().Name}; the export knows Conv2d, ReLU and MaxPool2d in VGG16."),
            };
        }
        return x;
    }

    /// <summary>The CAM head: conv 3×3 + ReLU is the <c>features</c> output; global average pooling, flatten and Gemm give <c>logits</c>.</summary>
    private static void Head(OnnxGraphWriter graph, CamHead head, string input)
    {
        var features = graph.Node("Relu", "head.relu", [Conv(graph, "head.conv", head.Convolution, input)], output: FeaturesName);
        var pooled = graph.Node("GlobalAveragePool", "head.pool", [features]);
        var flat = graph.Node("Flatten", "head.flatten", [pooled], attributes: Int("axis", 1));
        graph.Node("Gemm", "head.classifier", [flat, graph.Initializer(ClassWeightsName, head.ClassWeights), graph.Initializer(ClassBiasName, head.ClassBias)],
            output: LogitsName, attributes: Int("transB", 1));
    }

    private static string Relu(OnnxGraphWriter graph, string name, string input) => graph.Node("Relu", name, [input]);

    private static string Conv(OnnxGraphWriter graph, string name, Conv2d conv, string input)
    {
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new OnnxExportException($"{name} pads with {conv.padding_mode}; ONNX's Conv pads with zeros only.");
        if (conv.padding is not { Length: 2 } padding)
            throw new OnnxExportException($"{name} has padding '{conv.padding_type}'; the export writes convolutions with explicit padding.");
        var weight = conv.weight;
        List<string> inputs = [input, graph.Initializer($"{name}.weight", weight)];
        if (conv.bias is { } bias) inputs.Add(graph.Initializer($"{name}.bias", bias));
        return graph.Node("Conv", name, inputs, attributes:
        [
            Ints("kernel_shape", [weight.shape[2], weight.shape[3]]),
            Ints("strides", conv.stride),
            // ONNX lists the pads as [top, left, bottom, right]; PyTorch's padding is symmetric.
            Ints("pads", [padding[0], padding[1], padding[0], padding[1]]),
            Ints("dilations", conv.dilation),
            Int("group", conv.groups),
        ]);
    }

    private static string MaxPool(OnnxGraphWriter graph, string name, MaxPool2d pool, string input)
    {
        var kernel = pool.kernel_size;
        var padding = pool.padding ?? [0, 0];
        return graph.Node("MaxPool", name, [input], attributes:
        [
            Ints("kernel_shape", kernel),
            Ints("strides", pool.stride ?? kernel),
            Ints("pads", [padding[0], padding[1], padding[0], padding[1]]),
            Ints("dilations", pool.dilation ?? [1, 1]),
            Int("ceil_mode", pool.ceil_mode ? 1 : 0),
        ]);
    }
}
