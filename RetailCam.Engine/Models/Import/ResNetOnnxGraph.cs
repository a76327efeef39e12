using Onnx;

namespace RetailCam.Engine.Models.Import;

/// <summary>A convolution of the ONNX graph: its weight initializer and the geometry we checked.</summary>
public sealed record OnnxConv(string NodeName, string WeightName, long Kernel, long Stride);

/// <summary>A BatchNormalization node: scale, bias, running mean and variance initializers.</summary>
public sealed record OnnxBatchNorm(string NodeName, string ScaleName, string BiasName, string MeanName, string VarianceName);

/// <summary>A convolution followed by its BatchNorm, the unit every weight of a ResNet belongs to.</summary>
public sealed record OnnxConvBatchNorm(OnnxConv Conv, OnnxBatchNorm BatchNorm, string OutputName);

/// <summary>One residual block as found in the graph: the Add that closes it, its two main convs and the projection shortcut if any.</summary>
public sealed record OnnxResidualBlock(string AddNodeName, OnnxConvBatchNorm First, OnnxConvBatchNorm Second, OnnxConvBatchNorm? Downsample, string OutputName);

/// <summary>
/// The structure of a ResNet with BasicBlocks read from an ONNX graph by following tensors, not by
/// node or initializer names (the CNTK export names them Parameter91, Constant98, …, which say nothing).
/// </summary>
public sealed class ResNetOnnxGraph
{
    private const string Conv = "Conv", BatchNorm = "BatchNormalization", Relu = "Relu", Add = "Add", MaxPool = "MaxPool", AveragePool = "AveragePool";
    private const double ExpectedEpsilon = 1e-5;

    private ResNetOnnxGraph(OnnxModelFile file)
    {
        File = file;
        var graph = file.Graph;
        var inputs = graph.Input.Select(i => i.Name).Where(n => !Initializers.ContainsKey(n)).ToList();
        if (inputs.Count != 1) throw Malformed($"expected one image input, found {inputs.Count}");
        InputName = inputs[0];
        if (graph.Output.Count != 1) throw Malformed($"expected one output, found {graph.Output.Count}");
        OutputName = graph.Output[0].Name;

        var stemConv = SingleConsumer(InputName, Conv);
        Stem = ConvBatchNorm(stemConv, kernel: 7, padding: 3);
        if (Stem.Conv.Stride != 2) throw Malformed($"stem convolution {stemConv.Name} has stride {Stem.Conv.Stride}, expected 2");
        var stemRelu = SingleConsumer(Stem.OutputName, Relu);
        var maxPool = SingleConsumer(stemRelu.Output[0], MaxPool);
        CheckWindow(maxPool, kernel: 3, stride: 2, padding: 1);
        StemOutputName = maxPool.Output[0];

        Stages = ReadStages(StemOutputName, out var trunkOutput);
        TrunkOutputName = trunkOutput;

        var pool = SingleConsumer(trunkOutput, AveragePool);
        if (pool.Output[0] != OutputName)
            throw Malformed($"the average pooling {pool.Name} after the last block is not the graph output {OutputName}");

        var adds = graph.Node.Count(n => n.OpType == Add);
        var blocks = Stages.Sum(s => s.Count);
        if (adds != blocks) throw Malformed($"{adds} Add nodes but only {blocks} of them close residual blocks");
    }

    /// <summary>The parsed file: its protobuf and initializers.</summary>
    public OnnxModelFile File { get; }

    private IReadOnlyDictionary<string, TensorProto> Initializers => File.Initializers;

    public string InputName { get; }
    public string OutputName { get; }
    public OnnxConvBatchNorm Stem { get; }

    /// <summary>The stem's output after max-pooling, input of the first block.</summary>
    public string StemOutputName { get; }

    /// <summary>The last block's output, before global pooling.</summary>
    public string TrunkOutputName { get; }

    /// <summary>Blocks grouped into stages: a block with a projection shortcut starts a new stage.</summary>
    public IReadOnlyList<IReadOnlyList<OnnxResidualBlock>> Stages { get; }

    public IReadOnlyList<int> StageBlockCounts => Stages.Select(s => s.Count).ToArray();

    /// <summary>Parses <paramref name="path"/>; throws <see cref="PretrainedModelFormatException"/> when it is not an ONNX ResNet of BasicBlocks.</summary>
    public static ResNetOnnxGraph Read(string path) => new(OnnxModelFile.Read(path));

    private List<IReadOnlyList<OnnxResidualBlock>> ReadStages(string input, out string trunkOutput)
    {
        var stages = new List<List<OnnxResidualBlock>>();
        var current = input;
        while (true)
        {
            var next = Consumers(current);
            if (next.Count == 1 && next[0].OpType == AveragePool) break;
            var block = ReadBlock(current, next);
            if (stages.Count == 0 || block.Downsample is not null) stages.Add([]);
            stages[^1].Add(block);
            current = block.OutputName;
        }
        if (stages.Count == 0) throw Malformed("no residual blocks follow the stem");
        trunkOutput = current;
        return stages.Select(s => (IReadOnlyList<OnnxResidualBlock>)s).ToList();
    }

    /// <summary>
    /// From a block input: the 3×3 conv consuming it opens the main branch (conv, BN, ReLU, conv, BN),
    /// which ends in an Add; the Add's other operand is either the block input itself or a BN over a
    /// strided 1×1 conv of it, the projection shortcut.
    /// </summary>
    private OnnxResidualBlock ReadBlock(string blockInput, IReadOnlyList<NodeProto> readers)
    {
        var convs = readers.Where(n => n.OpType == Conv).ToList();
        var mainConvs = convs.Where(n => KernelOf(n) == 3).ToList();
        if (mainConvs.Count != 1)
            throw Malformed($"tensor {blockInput} should feed exactly one 3×3 convolution opening a residual block, found {mainConvs.Count}");
        var first = ConvBatchNorm(mainConvs[0], kernel: 3, padding: 1);
        var relu = SingleConsumer(first.OutputName, Relu);
        var second = ConvBatchNorm(SingleConsumer(relu.Output[0], Conv), kernel: 3, padding: 1);
        if (second.Conv.Stride != 1) throw Malformed($"second convolution {second.Conv.NodeName} of a block has stride {second.Conv.Stride}");
        var add = SingleConsumer(second.OutputName, Add);
        if (add.Input.Count != 2) throw Malformed($"Add node {add.Name} has {add.Input.Count} inputs");
        var shortcutName = add.Input[0] == second.OutputName ? add.Input[1] : add.Input[0];

        OnnxConvBatchNorm? downsample = null;
        if (shortcutName != blockInput)
        {
            var shortcutBatchNorm = Producer(shortcutName, BatchNorm);
            var shortcutConv = Producer(shortcutBatchNorm.Input[0], Conv);
            if (shortcutConv.Input[0] != blockInput)
                throw Malformed($"the shortcut of Add node {add.Name} does not start at the block input {blockInput}");
            downsample = ConvBatchNorm(shortcutConv, kernel: 1, padding: 0);
            if (downsample.Conv.Stride != first.Conv.Stride)
                throw Malformed($"projection {shortcutConv.Name} has stride {downsample.Conv.Stride} but the block's first conv {first.Conv.Stride}");
        }
        else if (first.Conv.Stride != 1)
        {
            throw Malformed($"block closed by {add.Name} is strided but has an identity shortcut");
        }
        if (convs.Count != (downsample is null ? 1 : 2))
            throw Malformed($"tensor {blockInput} feeds {convs.Count} convolutions; a BasicBlock reads its input with one, or two with a projection");

        var output = SingleConsumer(add.Output[0], Relu).Output[0];
        return new OnnxResidualBlock(add.Name, first, second, downsample, output);
    }

    private OnnxConvBatchNorm ConvBatchNorm(NodeProto conv, long kernel, long padding)
    {
        if (conv.OpType != Conv) throw Malformed($"node {conv.Name} is {conv.OpType}, expected Conv");
        if (conv.Input.Count != 2)
            throw Malformed($"convolution {conv.Name} has a bias; the ResNet convolutions before BatchNorm have none");
        if (OnnxModelFile.Int(conv, "group", 1) != 1) throw Malformed($"convolution {conv.Name} is grouped");
        if (OnnxModelFile.Ints(conv, "dilations") is { Length: > 0 } dilations && dilations.Any(d => d != 1))
            throw Malformed($"convolution {conv.Name} is dilated");
        var weight = Initializer(conv.Input[1], conv.Name);
        if (weight.Dims.Count != 4 || weight.Dims[2] != kernel || weight.Dims[3] != kernel)
            throw Malformed($"convolution {conv.Name} has weight [{string.Join(",", weight.Dims)}], expected a {kernel}×{kernel} kernel");
        var stride = CheckWindow(conv, kernel, stride: null, padding);

        var bn = SingleConsumer(conv.Output[0], BatchNorm);
        if (bn.Input.Count != 5) throw Malformed($"BatchNormalization {bn.Name} has {bn.Input.Count} inputs, expected 5");
        if (OnnxModelFile.Int(bn, "spatial", 1) == 0) throw Malformed($"BatchNormalization {bn.Name} normalises per activation (spatial=0)");
        var epsilon = OnnxModelFile.Attribute(bn, "epsilon")?.F ?? 1e-5f;
        if (Math.Abs(epsilon - ExpectedEpsilon) > 1e-9)
            throw Malformed($"BatchNormalization {bn.Name} has epsilon {epsilon}, expected {ExpectedEpsilon}");
        for (var i = 1; i < 5; i++) Initializer(bn.Input[i], bn.Name);
        return new OnnxConvBatchNorm(
            new OnnxConv(conv.Name, conv.Input[1], kernel, stride),
            new OnnxBatchNorm(bn.Name, bn.Input[1], bn.Input[2], bn.Input[3], bn.Input[4]),
            bn.Output[0]);
    }

    /// <summary>
    /// PyTorch pads symmetrically; the CNTK export pads some strided windows less at the end. The
    /// sampling grid is the same when the leading pads match and the trailing ones are short by less
    /// than a stride (the last window then never reaches the missing row); at 224² the sizes agree too.
    /// </summary>
    private long CheckWindow(NodeProto node, long kernel, long? stride, long padding)
    {
        var kernelShape = OnnxModelFile.Ints(node, "kernel_shape");
        if (kernelShape is { Length: > 0 } && kernelShape.Any(k => k != kernel))
            throw Malformed($"{node.OpType} {node.Name} has kernel [{string.Join(",", kernelShape)}], expected {kernel}");
        var strides = OnnxModelFile.Ints(node, "strides") is { Length: 2 } s ? s : [1, 1];
        if (strides[0] != strides[1]) throw Malformed($"{node.OpType} {node.Name} has unequal strides");
        if (stride is { } expected && strides[0] != expected)
            throw Malformed($"{node.OpType} {node.Name} has stride {strides[0]}, expected {expected}");
        var autoPad = OnnxModelFile.Attribute(node, "auto_pad")?.S.ToStringUtf8();
        if (!string.IsNullOrEmpty(autoPad) && autoPad != "NOTSET")
            throw Malformed($"{node.OpType} {node.Name} uses auto_pad {autoPad}");
        var pads = OnnxModelFile.Ints(node, "pads") is { Length: 4 } p ? p : [0, 0, 0, 0];
        var leadingOk = pads[0] == padding && pads[1] == padding;
        var trailingOk = pads[2] <= padding && pads[3] <= padding && pads[2] > padding - strides[0] && pads[3] > padding - strides[0];
        if (!leadingOk || !trailingOk)
            throw Malformed($"{node.OpType} {node.Name} has pads [{string.Join(",", pads)}], not equivalent to symmetric padding {padding}");
        return strides[0];
    }

    private TensorProto Initializer(string name, string nodeName) => File.Initializer(name, nodeName);

    private IReadOnlyList<NodeProto> Consumers(string tensor) => File.Consumers(tensor);

    private NodeProto SingleConsumer(string tensor, string opType)
    {
        var list = Consumers(tensor);
        if (list.Count != 1 || list[0].OpType != opType)
            throw Malformed($"tensor {tensor} should feed one {opType} node, but feeds [{string.Join(", ", list.Select(n => $"{n.OpType} {n.Name}"))}]");
        return list[0];
    }

    private NodeProto Producer(string tensor, string opType) =>
        File.Producer(tensor) is { } node && node.OpType == opType
            ? node
            : throw Malformed($"tensor {tensor} should come from a {opType} node");

    private long KernelOf(NodeProto conv) =>
        conv.Input.Count > 1 && Initializers.TryGetValue(conv.Input[1], out var weight) && weight.Dims.Count == 4 ? weight.Dims[2] : -1;

    private PretrainedModelFormatException Malformed(string problem) => File.Malformed(problem);
}
