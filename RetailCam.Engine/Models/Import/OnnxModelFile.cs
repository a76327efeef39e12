using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Import;

/// <summary>
/// One ONNX file, parsed: its graph's nodes and stored initializers, and which node produces and
/// which consume each tensor, the wiring both the network and the preprocessing graph are read by.
/// Every fault is a <see cref="PretrainedModelFormatException"/> that names the file.
/// </summary>
public sealed class OnnxModelFile
{
    private const int FloatType = (int)TensorProto.Types.DataType.Float;

    private readonly Dictionary<string, NodeProto> producers = [];
    private readonly Dictionary<string, List<NodeProto>> consumers = [];

    private OnnxModelFile(string path, ModelProto model)
    {
        Path = path;
        Model = model;
        Graph = model.Graph ?? throw Malformed("it has no graph");
        var initializers = new Dictionary<string, TensorProto>();
        foreach (var initializer in Graph.Initializer)
        {
            if (!initializers.TryAdd(initializer.Name, initializer))
                throw Malformed($"initializer {initializer.Name} is stored twice");
        }
        Initializers = initializers;
        foreach (var node in Graph.Node)
        {
            foreach (var output in node.Output) producers[output] = node;
            foreach (var input in node.Input)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        }
    }

    public string Path { get; }
    public ModelProto Model { get; }
    public GraphProto Graph { get; }
    public IReadOnlyList<NodeProto> Nodes => Graph.Node;
    public IReadOnlyDictionary<string, TensorProto> Initializers { get; }

    /// <summary>Parses <paramref name="path"/>; throws <see cref="PretrainedModelFormatException"/> when it is not an ONNX protobuf with a graph.</summary>
    public static OnnxModelFile Read(string path)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new PretrainedModelFormatException(path, "it is not a readable ONNX protobuf", ex);
        }
        return new OnnxModelFile(path, model);
    }

    /// <summary>The nodes that read <paramref name="tensor"/>, in graph order.</summary>
    public IReadOnlyList<NodeProto> Consumers(string tensor) =>
        consumers.TryGetValue(tensor, out var list) ? list : [];

    /// <summary>The node that writes <paramref name="tensor"/>, null for graph inputs and initializers.</summary>
    public NodeProto? Producer(string tensor) => producers.GetValueOrDefault(tensor);

    /// <summary>The stored initializer <paramref name="name"/>, read by <paramref name="nodeName"/>.</summary>
    public TensorProto Initializer(string name, string nodeName) =>
        Initializers.TryGetValue(name, out var tensor)
            ? tensor
            : throw Malformed($"input {name} of node {nodeName} is not a stored initializer");

    /// <summary>
    /// An initializer as a float32 tensor: CNTK writes float_data, most other exporters raw_data
    /// (little-endian), so both are read.
    /// </summary>
    public Tensor ToTensor(TensorProto proto)
    {
        if (proto.DataType != FloatType)
            throw Malformed($"initializer {proto.Name} has data type {proto.DataType}, expected float");
        var shape = proto.Dims.ToArray();
        var count = shape.Aggregate(1L, (a, d) => a * d);
        float[] values;
        if (proto.FloatData.Count == count)
            values = proto.FloatData.ToArray();
        else if (proto.FloatData.Count == 0 && proto.RawData.Length == count * sizeof(float) && BitConverter.IsLittleEndian)
            values = MemoryMarshal.Cast<byte, float>(proto.RawData.Span).ToArray();
        else
            throw Malformed($"initializer {proto.Name} [{string.Join(",", shape)}] holds {proto.FloatData.Count} floats and {proto.RawData.Length} raw bytes");
        return tensor(values, shape);
    }

    public static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    public static long[]? Ints(NodeProto node, string name) => Attribute(node, name)?.Ints.ToArray();

    public static long Int(NodeProto node, string name, long fallback) => Attribute(node, name) is { } a ? a.I : fallback;

    public PretrainedModelFormatException Malformed(string problem) => new(Path, problem);
}
