using System.Buffers.Binary;
using System.Text;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

public class SafetensorsIndexTests
{
    public SafetensorsIndexTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    /// <summary>A safetensors file written by hand: length prefix, header padded with spaces as the format allows, data.</summary>
    private static void WriteRaw(string path, string header, byte[] data, int paddedHeaderLength = 0)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header.PadRight(paddedHeaderLength));
        var bytes = new byte[8 + headerBytes.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)headerBytes.Length);
        headerBytes.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + headerBytes.Length);
        File.WriteAllBytes(path, bytes);
    }

    private static byte[] SixFloats() => Enumerable.Range(0, 6).SelectMany(i => BitConverter.GetBytes((float)i)).ToArray();

    [Fact]
    public void Padded_header_whose_length_starts_like_a_pickle_is_read_as_safetensors()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("w.safetensors");
        // 0x280 bytes of header: the file starts 80 02, the opening bytes of a pickle.
        WriteRaw(path, """{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""", SixFloats(), 0x280);

        Assert.Equal(StateDictFormat.Safetensors, StateDictFiles.DetectFormat(path));
        var tensors = StateDictFiles.Read(path);

        using var expected = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        Assert.Equal(["w"], tensors.Keys);
        Assert.True(TensorBits.Identical(expected, tensors["w"]));
        foreach (var tensor in tensors.Values) tensor.Dispose();
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,28]}}""", "w", "needs 24")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]}}""", "w", "truncated")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[24,0]}}""", "w", "begin ≤ end")]
    [InlineData("""{"w":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}}""", "w", "non-negative")]
    [InlineData("""{"w":{"dtype":"F8_E4M3","shape":[2,3],"data_offsets":[0,6]}}""", "w", "F8_E4M3")]
    [InlineData("""{"w":{"shape":[2,3],"data_offsets":[0,24]}}""", "w", "dtype")]
    [InlineData("""{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,24]}}""", "w", "impossibly large")]
    [InlineData("""{"w":[1,2]}""", "w", "not an object")]
    [InlineData("""["w"]""", null, "not a JSON object")]
    [InlineData("""{"w":""", null, "not valid JSON")]
    public void Crafted_header_is_refused_naming_the_file_and_tensor(string header, string? tensor, string expectedInMessage)
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("crafted.safetensors");
        WriteRaw(path, header, SixFloats());

        var error = Assert.Throws<ModelLoadException>(() => SafetensorsIndex.Read(path));

        Assert.Equal(path, error.FilePath);
        Assert.Equal(tensor, error.TensorName);
        Assert.Contains(expectedInMessage, error.Message);
    }

    [Fact]
    public void Header_length_beyond_the_end_of_the_file_is_refused()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("short.safetensors");
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1_000_000);
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<ModelLoadException>(() => SafetensorsIndex.Read(path));

        Assert.Contains("1000000", error.Message);
        Assert.Contains("truncated", error.Message);
    }
}
