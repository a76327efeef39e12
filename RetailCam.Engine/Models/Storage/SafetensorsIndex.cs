using System.Buffers.Binary;
using System.Text.Json;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Storage;

/// <summary>One tensor as a safetensors header describes it; offsets are relative to the data section.</summary>
public sealed record SafetensorsEntry(string Name, ScalarType DType, long[] Shape, long Begin, long End)
{
    public string ShapeText => ShapeFormat.Format(Shape);
}

/// <summary>
/// The validated header of a safetensors file (8-byte little-endian header length, JSON header,
/// data). Every entry is checked against the file size before any tensor is read, because the
/// readers we hand the file to trust the header and a truncated or crafted file would otherwise
/// fail deep in native code or read past the data.
/// </summary>
public sealed class SafetensorsIndex
{
    // Headers of real models are kilobytes; anything this large is not a weights file.
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private static readonly Dictionary<string, (ScalarType Type, int Size)> DTypes = new()
    {
        // Exactly the types TorchSharp.PyBridge reads; anything else is refused here, by name.
        ["F64"] = (ScalarType.Float64, 8),
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    private SafetensorsIndex(string path, long dataOffset, IReadOnlyDictionary<string, SafetensorsEntry> entries)
    {
        Path = path;
        DataOffset = dataOffset;
        Entries = entries;
    }

    public string Path { get; }

    /// <summary>Byte offset of the data section in the file.</summary>
    public long DataOffset { get; }

    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>Reads and validates the header; throws <see cref="ModelLoadException"/> naming the file and tensor on any fault.</summary>
    public static SafetensorsIndex Read(string path)
    {
        if (!File.Exists(path))
            throw new ModelLoadException(path, null, "file not found.");

        byte[] headerBytes;
        long fileLength;
        try
        {
            using var stream = File.OpenRead(path);
            fileLength = stream.Length;
            if (fileLength < 8)
                throw new ModelLoadException(path, null, $"only {fileLength} bytes long: too short for a safetensors file (truncated?).");
            Span<byte> lengthBytes = stackalloc byte[8];
            stream.ReadExactly(lengthBytes);
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            if (headerLength < 2 || headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
                throw new ModelLoadException(path, null,
                    $"header length {headerLength} does not fit the file's {fileLength} bytes: truncated or not a safetensors file.");
            headerBytes = new byte[headerLength];
            stream.ReadExactly(headerBytes);
        }
        catch (IOException ex)
        {
            throw new ModelLoadException(path, null, $"cannot be read: {ex.Message}", ex);
        }

        var dataOffset = 8 + headerBytes.LongLength;
        var dataLength = fileLength - dataOffset;
        var entries = ParseHeader(path, headerBytes, dataLength);
        return new SafetensorsIndex(path, dataOffset, entries);
    }

    private static Dictionary<string, SafetensorsEntry> ParseHeader(string path, byte[] headerBytes, long dataLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(path, null, $"header is not valid JSON ({ex.Message}): not a safetensors file?", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelLoadException(path, null, "header is not a JSON object: not a safetensors file?");

            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__") continue;
                var entry = ParseEntry(path, property, dataLength);
                if (!entries.TryAdd(entry.Name, entry))
                    throw new ModelLoadException(path, entry.Name, "appears twice in the header.");
            }
            return entries;
        }
    }

    private static SafetensorsEntry ParseEntry(string path, JsonProperty property, long dataLength)
    {
        var name = property.Name;
        ModelLoadException Bad(string problem) => new(path, name, problem);

        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad("header entry is not an object.");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad("header entry has no dtype.");
        var dtypeName = dtypeElement.GetString()!;
        if (!DTypes.TryGetValue(dtypeName, out var dtype))
            throw Bad($"unsupported dtype '{dtypeName}'.");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Bad("header entry has no shape.");
        var shape = new List<long>();
        foreach (var dimension in shapeElement.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt64(out var size) || size < 0)
                throw Bad($"shape {shapeElement.GetRawText()} is not a list of non-negative integers.");
            shape.Add(size);
        }

        if (!value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2
            || !offsetsElement[0].TryGetInt64(out var begin) || !offsetsElement[1].TryGetInt64(out var end)
            || begin < 0 || end < begin)
            throw Bad("data_offsets must be [begin, end] with 0 ≤ begin ≤ end.");

        long expectedBytes;
        try
        {
            expectedBytes = checked(shape.Aggregate(1L, (product, size) => product * size) * dtype.Size);
        }
        catch (OverflowException)
        {
            throw Bad($"shape {ShapeFormat.Format(shape)} is impossibly large.");
        }
        if (end - begin != expectedBytes)
            throw Bad($"data_offsets span {end - begin} bytes but shape {ShapeFormat.Format(shape)} of {dtypeName} needs {expectedBytes}.");
        if (end > dataLength)
            throw Bad($"data ends at byte {end} of the data section but the file holds only {dataLength}: the file is truncated.");

        return new SafetensorsEntry(name, dtype.Type, shape.ToArray(), begin, end);
    }

    /// <summary>The safetensors dtype name of a scalar type, or null when safetensors cannot store it here.</summary>
    public static string? DTypeName(ScalarType type) =>
        DTypes.FirstOrDefault(pair => pair.Value.Type == type).Key;
}

internal static class ShapeFormat
{
    public static string Format(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";
}
