using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Export;

/// <summary>
/// Builds one ONNX graph node by node with the protobuf classes of OnnxSharp: each node's output
/// tensor is named after the node unless a graph output name is given, and every name is checked to
/// be new, since a graph that writes one tensor twice is rejected only later, by the runtime.
/// </summary>
internal sealed class OnnxGraphWriter
{
    private const int FloatType = (int)TensorProto.Types.DataType.Float;
    private const int Int64Type = (int)TensorProto.Types.DataType.Int64;

    private readonly HashSet<string> names = new(StringComparer.Ordinal);

    public OnnxGraphWriter(string name) => Graph = new GraphProto { Name = name };

    public GraphProto Graph { get; }

    /// <summary>Adds a node and returns the name of the tensor it writes.</summary>
    public string Node(string opType, string name, IReadOnlyList<string> inputs, string? output = null, params AttributeProto[] attributes)
    {
        var tensor = Claim(output ?? name);
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(tensor);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return tensor;
    }

    /// <summary>A float32 initializer holding <paramref name="values"/>'s data in its logical (NCHW) order, whatever its strides.</summary>
    public string Initializer(string name, Tensor values)
    {
        using var scope = NewDisposeScope();
        var data = values.detach().to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        return Floats(name, data, values.shape);
    }

    public string Floats(string name, float[] values, long[] dims)
    {
        // raw_data is little-endian by the ONNX spec; the machines we build on are, and we refuse to write the wrong bytes elsewhere.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("The ONNX export writes little-endian raw data.");
        var proto = new TensorProto { Name = Claim(name), DataType = FloatType, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        proto.Dims.AddRange(dims);
        Graph.Initializer.Add(proto);
        return proto.Name;
    }

    public string Int64s(string name, long[] values)
    {
        var proto = new TensorProto { Name = Claim(name), DataType = Int64Type };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        Graph.Initializer.Add(proto);
        return proto.Name;
    }

    public void Input(string name, params TensorShapeProto.Types.Dimension[] dims) => Graph.Input.Add(FloatValue(Claim(name), dims));

    /// <summary>Declares a tensor some node already writes as a graph output.</summary>
    public void Output(string name, params TensorShapeProto.Types.Dimension[] dims)
    {
        if (!names.Contains(name)) throw new InvalidOperationException($"No node writes '{name}'.");
        Graph.Output.Add(FloatValue(name, dims));
    }

    public static TensorShapeProto.Types.Dimension Dim(long size) => new() { DimValue = size };

    public static TensorShapeProto.Types.Dimension Dim(string symbol) => new() { DimParam = symbol };

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    private string Claim(string name) =>
        names.Add(name) ? name : throw new InvalidOperationException($"The graph already has a tensor named '{name}'.");

    private static ValueInfoProto FloatValue(string name, TensorShapeProto.Types.Dimension[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims);
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = FloatType, Shape = shape } },
        };
    }
}
