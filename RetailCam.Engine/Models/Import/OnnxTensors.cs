using System.Runtime.InteropServices;
using Onnx;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Import;

internal static class OnnxTensors
{
    private const int FloatType = (int)TensorProto.Types.DataType.Float;

    /// <summary>
    /// An initializer as a float32 tensor: CNTK writes float_data, most other exporters raw_data
    /// (little-endian), so both are read.
    /// </summary>
    public static Tensor ToTensor(TensorProto proto, string path)
    {
        if (proto.DataType != FloatType)
            throw new PretrainedModelFormatException(path, $"initializer {proto.Name} has data type {proto.DataType}, expected float");
        var shape = proto.Dims.ToArray();
        var count = shape.Aggregate(1L, (a, d) => a * d);
        float[] values;
        if (proto.FloatData.Count == count)
            values = proto.FloatData.ToArray();
        else if (proto.FloatData.Count == 0 && proto.RawData.Length == count * sizeof(float) && BitConverter.IsLittleEndian)
            values = MemoryMarshal.Cast<byte, float>(proto.RawData.Span).ToArray();
        else
            throw new PretrainedModelFormatException(path, $"initializer {proto.Name} [{string.Join(",", shape)}] holds {proto.FloatData.Count} floats and {proto.RawData.Length} raw bytes");
        return tensor(values, shape);
    }
}
