using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

public class Vgg16WeightImportTests
{
    private const double TestWidth = 1.0 / 16;

    public Vgg16WeightImportTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    /// <summary>A torchvision-style state dict: the trunk's features.* plus classifier.* tensors the import must skip.</summary>
    private static Dictionary<string, Tensor> TorchvisionStyleStateDict(Vgg16Backbone source)
    {
        var state = new Dictionary<string, Tensor>(source.state_dict());
        state["classifier.0.weight"] = randn(16, source.FeatureChannels * 7 * 7);
        state["classifier.0.bias"] = randn(16);
        state["classifier.6.weight"] = randn(10, 16);
        state["classifier.6.bias"] = randn(10);
        return state;
    }

    private static void Write(string path, IReadOnlyDictionary<string, Tensor> state, StateDictFormat format)
    {
        using var stream = File.Create(path);
        if (format == StateDictFormat.PyTorchZip) StateDictFiles.WritePyTorch(stream, state);
        else StateDictFiles.WriteSafetensors(stream, state);
    }

    private static bool SameWeights(Vgg16Backbone a, Vgg16Backbone b)
    {
        var left = a.state_dict();
        var right = b.state_dict();
        return left.Count == right.Count && left.All(pair => right.TryGetValue(pair.Key, out var other) && TensorBits.Identical(pair.Value, other));
    }

    [Theory]
    [InlineData(StateDictFormat.PyTorchZip, "vgg16.pt")]
    [InlineData(StateDictFormat.Safetensors, "vgg16.safetensors")]
    public void Weights_round_trip_bit_identically_and_classifier_tensors_are_ignored(StateDictFormat format, string fileName)
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var source = new Vgg16Backbone(TestWidth);
        manual_seed(2);
        using var target = new Vgg16Backbone(TestWidth);
        Assert.False(SameWeights(source, target));

        var path = folder.File(fileName);
        Write(path, TorchvisionStyleStateDict(source), format);
        Assert.Equal(format, StateDictFiles.DetectFormat(path));

        var report = Vgg16WeightImporter.Import(target, path);

        Assert.True(SameWeights(source, target));
        Assert.Equal(format, report.Format);
        Assert.Equal(26, report.TensorsLoaded);
        Assert.Equal(["classifier.0.bias", "classifier.0.weight", "classifier.6.bias", "classifier.6.weight"], report.IgnoredKeys.Order());

        // The imported trunk computes what the source computes.
        using var _ = no_grad();
        var input = rand(1, 3, 32, 32);
        Assert.True(TensorBits.Identical(source.call(input), target.call(input)));
    }

    [Theory]
    [InlineData(StateDictFormat.PyTorchZip, "vgg16.pt")]
    [InlineData(StateDictFormat.Safetensors, "vgg16.safetensors")]
    public void Missing_feature_tensor_is_named_with_the_file_and_the_backbone_is_left_unchanged(StateDictFormat format, string fileName)
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        using var source = new Vgg16Backbone(TestWidth);
        using var target = new Vgg16Backbone(TestWidth);
        using var before = new Vgg16Backbone(TestWidth);
        before.load_state_dict(target.state_dict());

        var state = TorchvisionStyleStateDict(source);
        state.Remove("features.17.bias");
        var path = folder.File(fileName);
        Write(path, state, format);

        var error = Assert.Throws<ModelLoadException>(() => Vgg16WeightImporter.Import(target, path));

        Assert.Equal("features.17.bias", error.TensorName);
        Assert.Equal(path, error.FilePath);
        Assert.Contains("features.17.bias", error.Message);
        Assert.Contains(path, error.Message);
        Assert.True(SameWeights(before, target));
    }

    [Theory]
    [InlineData(StateDictFormat.PyTorchZip, "vgg16.pt")]
    [InlineData(StateDictFormat.Safetensors, "vgg16.safetensors")]
    public void Wrongly_shaped_feature_tensor_is_named_with_both_shapes(StateDictFormat format, string fileName)
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        using var narrow = new Vgg16Backbone(TestWidth);
        using var wider = new Vgg16Backbone(TestWidth * 2);
        var path = folder.File(fileName);
        Write(path, TorchvisionStyleStateDict(narrow), format);

        var error = Assert.Throws<ModelLoadException>(() => Vgg16WeightImporter.Import(wider, path));

        Assert.StartsWith("features.", error.TensorName);
        Assert.Contains(error.TensorName!, error.Message);
        Assert.Contains(path, error.Message);
        static string Format(long[] shape) => "[" + string.Join(",", shape) + "]";
        Assert.Contains(Format(narrow.state_dict()[error.TensorName!].shape), error.Message);
        Assert.Contains(Format(wider.state_dict()[error.TensorName!].shape), error.Message);
    }

    [Fact]
    public void Keys_saved_from_a_data_parallel_wrapper_lose_their_module_prefix()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var source = new Vgg16Backbone(TestWidth);
        manual_seed(2);
        using var target = new Vgg16Backbone(TestWidth);
        var prefixed = TorchvisionStyleStateDict(source).ToDictionary(pair => "module." + pair.Key, pair => pair.Value);
        var path = folder.File("vgg16-dataparallel.safetensors");
        Write(path, prefixed, StateDictFormat.Safetensors);

        var report = Vgg16WeightImporter.Import(target, path);

        Assert.True(SameWeights(source, target));
        Assert.All(report.IgnoredKeys, key => Assert.StartsWith("module.classifier.", key));
    }

    [Fact]
    public void Batch_norm_vgg_keys_are_refused_by_name()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        using var backbone = new Vgg16Backbone(TestWidth);
        var state = TorchvisionStyleStateDict(backbone);
        state["features.1.running_mean"] = zeros(4);
        var path = folder.File("vgg16_bn.safetensors");
        Write(path, state, StateDictFormat.Safetensors);

        var error = Assert.Throws<ModelLoadException>(() => Vgg16WeightImporter.Import(backbone, path));

        Assert.Equal("features.1.running_mean", error.TensorName);
        Assert.Contains("vgg16_bn", error.Message);
    }

    [Fact]
    public void Truncated_safetensors_file_is_refused_before_any_tensor_is_read()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        using var backbone = new Vgg16Backbone(TestWidth);
        var path = folder.File("vgg16.safetensors");
        Write(path, TorchvisionStyleStateDict(backbone), StateDictFormat.Safetensors);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);

        var error = Assert.Throws<ModelLoadException>(() => Vgg16WeightImporter.Import(backbone, path));

        Assert.NotNull(error.TensorName);
        Assert.Contains("truncated", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Truncated_pt_file_is_refused_with_the_file_named()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        using var backbone = new Vgg16Backbone(TestWidth);
        var path = folder.File("vgg16.pt");
        Write(path, TorchvisionStyleStateDict(backbone), StateDictFormat.PyTorchZip);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<ModelLoadException>(() => Vgg16WeightImporter.Import(backbone, path));

        Assert.Equal(path, error.FilePath);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Legacy_torch_save_file_is_refused_with_a_way_to_convert_it()
    {
        using var folder = new TemporaryFolder();
        using var backbone = new Vgg16Backbone(TestWidth);
        var path = folder.File("vgg16-397923af.pth");
        // The legacy format is a bare pickle that starts with torch's magic number (protocol 2, LONG1 0x1950a86a20f9469cfc6c).
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

        var error = Assert.Throws<ModelLoadException>(() => Vgg16WeightImporter.Import(backbone, path));

        Assert.Contains("legacy", error.Message);
        Assert.Contains("safetensors", error.Message);
    }

    [Fact]
    public void Missing_file_is_refused_with_its_path()
    {
        using var folder = new TemporaryFolder();
        using var backbone = new Vgg16Backbone(TestWidth);
        var path = folder.File("nothing-here.pt");

        var error = Assert.Throws<ModelLoadException>(() => Vgg16WeightImporter.Import(backbone, path));

        Assert.Equal(path, error.FilePath);
    }
}
