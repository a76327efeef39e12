using System.Text.Json.Nodes;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

public class ModelFolderTests
{
    private const double TinyWidth = 1.0 / 16;
    private const int TinyHidden = 8;
    private const int InputSize = 32;
    private static readonly string[] ThreeCategories = ["Apparel/Tops/Shirt", "Apparel/Tops/T-shirt", "Footwear/Sneaker"];

    public ModelFolderTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    private static CamNetwork TinyNetwork(int classCount, int seed)
    {
        manual_seed(seed);
        return CamNetworkFactory.CreateNew(BackboneKind.Vgg16, classCount, TinyHidden, TinyWidth);
    }

    private static ModelManifest SaveTiny(string folder, int seed = 1, string[]? categories = null)
    {
        categories ??= ThreeCategories;
        using var network = TinyNetwork(categories.Length, seed);
        return ModelFolder.Save(folder, network, ModelManifest.Describe(network, categories, InputSize));
    }

    /// <summary>The version folder a slot publishes now, where its two files are.</summary>
    private static string Published(string folder) => ModelFolder.Resolve(folder) ?? throw new DirectoryNotFoundException($"{folder} publishes no model.");

    private static Tensor Images(int seed)
    {
        manual_seed(seed);
        return rand(2, 3, InputSize, InputSize) * 255;
    }

    [Fact]
    public void Saved_model_loads_back_with_bit_identical_logits()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        using var network = TinyNetwork(ThreeCategories.Length, seed: 1);
        network.eval();
        using var __ = no_grad();
        var images = Images(seed: 100);
        var expected = network.call(images);

        ModelFolder.Save(folder.Path, network, ModelManifest.Describe(network, ThreeCategories, InputSize));
        using var loaded = ModelFolder.Load(folder.Path);
        using var fresh = TinyNetwork(ThreeCategories.Length, seed: 2);

        Assert.True(TensorBits.Identical(expected, loaded.Network.call(images)));
        Assert.False(TensorBits.Identical(expected, fresh.call(images)));
        Assert.False(loaded.Network.training);
    }

    [Fact]
    public void Networks_built_or_loaded_inside_a_dispose_scope_stay_usable_after_it_ends()
    {
        using var folder = new TemporaryFolder();
        SaveTiny(folder.Path);
        CamNetwork created;
        LoadedModel loaded;
        // A request scope, as the web front end opens one per request.
        using (NewDisposeScope())
        {
            created = TinyNetwork(ThreeCategories.Length, seed: 1);
            loaded = ModelFolder.Load(folder.Path);
        }

        using (created)
        using (loaded)
        using (NewDisposeScope())
        using (no_grad())
        {
            var images = Images(seed: 100);
            Assert.Equal([2L, 3], created.call(images).shape);
            Assert.Equal([2L, 3], loaded.Network.call(images).shape);
        }
    }

    [Fact]
    public void Manifest_round_trips_every_field_and_names_the_backbone_as_the_cli_does()
    {
        using var folder = new TemporaryFolder();
        using var network = TinyNetwork(ThreeCategories.Length, seed: 1);
        var training = new JsonObject { ["epochs"] = 3, ["optimizer"] = new JsonObject { ["name"] = "AdamW", ["lr"] = 0.001 } };
        var metrics = new JsonObject { ["accuracy"] = 0.9125, ["perClass"] = new JsonArray(0.5, 1.0, 0.75) };
        var manifest = ModelManifest.Describe(network, ThreeCategories, InputSize, training, metrics);

        var written = ModelFolder.Save(folder.Path, network, manifest);
        var read = ModelFolder.ReadManifest(folder.Path);

        Assert.Equal(ModelManifest.CurrentFormatVersion, read.FormatVersion);
        Assert.Equal(BackboneKind.Vgg16, read.Backbone);
        Assert.Equal(TinyWidth, read.BackboneWidth);
        Assert.Equal(TinyHidden, read.HeadHiddenChannels);
        Assert.Equal(InputSize, read.InputSize);
        Assert.Equal(ThreeCategories, read.Categories);
        var spec = PreprocessingSpec.TorchvisionImageNet;
        Assert.Equal((spec.ChannelOrder, spec.Scale, spec.UsesMeanImage), (read.Preprocessing.ChannelOrder, read.Preprocessing.Scale, read.Preprocessing.UsesMeanImage));
        Assert.Equal(spec.Mean, read.Preprocessing.Mean);
        Assert.Equal(spec.Std, read.Preprocessing.Std);
        Assert.True(JsonNode.DeepEquals(training, read.Training));
        Assert.True(JsonNode.DeepEquals(metrics, read.Metrics));
        Assert.Equal(manifest.CreatedUtc, read.CreatedUtc);
        Assert.Equal(written.WeightsSha256, read.WeightsSha256);
        Assert.Matches("^[0-9a-f]{64}$", read.WeightsSha256!);

        var raw = JsonNode.Parse(File.ReadAllText(Path.Combine(Published(folder.Path), ModelFolder.ManifestFileName)))!;
        Assert.Equal("vgg16", raw["backbone"]!.GetValue<string>());
    }

    [Fact]
    public void Saving_again_replaces_the_model_and_leaves_no_temporary_files()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        SaveTiny(folder.Path, seed: 1);
        using var second = TinyNetwork(ThreeCategories.Length, seed: 2);
        second.eval();
        ModelFolder.Save(folder.Path, second, ModelManifest.Describe(second, ThreeCategories, InputSize));

        using var loaded = ModelFolder.Load(folder.Path);
        using var __ = no_grad();
        var images = Images(seed: 100);

        Assert.True(TensorBits.Identical(second.call(images), loaded.Network.call(images)));
        Assert.Equal([ModelFolder.ManifestFileName, ModelFolder.WeightsFileName],
            Directory.GetFiles(Published(folder.Path)).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Manifest_that_does_not_describe_the_network_is_refused_and_nothing_is_written()
    {
        using var folder = new TemporaryFolder();
        using var network = TinyNetwork(ThreeCategories.Length, seed: 1);
        var manifest = ModelManifest.Describe(network, [.. ThreeCategories, "Footwear/Sandal"], InputSize);

        var error = Assert.Throws<ArgumentException>(() => ModelFolder.Save(folder.Path, network, manifest));

        Assert.Contains("4 categories", error.Message);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Mean_image_preprocessing_travels_with_the_weights()
    {
        using var folder = new TemporaryFolder();
        using var scope = NewDisposeScope();
        manual_seed(3);
        var spec = PreprocessingSpec.CntkBgrMeanImage([103.06f, 115.90f, 123.15f]);
        var meanImage = rand(3, 20, 24) * 255;
        var backbone = new Vgg16Backbone(TinyWidth);
        using var network = new CamNetwork(new InputNormalization(spec, meanImage), backbone, new CamHead(backbone.FeatureChannels, TinyHidden, 3));
        network.eval();
        using var __ = no_grad();
        var images = Images(seed: 100);

        ModelFolder.Save(folder.Path, network, ModelManifest.Describe(network, ThreeCategories, InputSize));
        using var loaded = ModelFolder.Load(folder.Path);

        Assert.True(loaded.Manifest.Preprocessing.UsesMeanImage);
        Assert.Equal("BGR", loaded.Manifest.Preprocessing.ChannelOrder);
        Assert.True(TensorBits.Identical(meanImage.unsqueeze(0), loaded.Network.state_dict()["normalization.mean"]));
        Assert.True(TensorBits.Identical(network.call(images), loaded.Network.call(images)));
    }

    [Fact]
    public void Missing_weights_file_is_reported_by_name()
    {
        using var folder = new TemporaryFolder();
        SaveTiny(folder.Path);
        var weights = Path.Combine(Published(folder.Path), ModelFolder.WeightsFileName);
        File.Delete(weights);

        var error = Assert.Throws<ModelLoadException>(() => ModelFolder.Load(folder.Path));

        Assert.Equal(weights, error.FilePath);
        Assert.Contains(ModelFolder.WeightsFileName, error.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(0.5)]
    public void Truncated_weights_file_is_reported_with_the_file_named(double keptFraction)
    {
        using var folder = new TemporaryFolder();
        SaveTiny(folder.Path);
        var weights = Path.Combine(Published(folder.Path), ModelFolder.WeightsFileName);
        var bytes = File.ReadAllBytes(weights);
        // 1 and 4 bytes cut the length prefix; half the file cuts the tensor data.
        var kept = keptFraction >= 1 ? (int)keptFraction : (int)(bytes.Length * keptFraction);
        File.WriteAllBytes(weights, bytes[..kept]);

        var error = Assert.Throws<ModelLoadException>(() => ModelFolder.Load(folder.Path));

        Assert.Equal(weights, error.FilePath);
        Assert.Contains("truncated", error.Message);
        if (keptFraction < 1) Assert.NotNull(error.TensorName);
    }

    [Fact]
    public void Weights_file_that_is_not_safetensors_is_reported_by_name()
    {
        using var folder = new TemporaryFolder();
        SaveTiny(folder.Path);
        var weights = Path.Combine(Published(folder.Path), ModelFolder.WeightsFileName);
        File.WriteAllText(weights, "this is a text file pretending to hold a model's weights");

        var error = Assert.Throws<ModelLoadException>(() => ModelFolder.Load(folder.Path));

        Assert.Equal(weights, error.FilePath);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_manifests_class_count_are_reported_by_tensor_name()
    {
        using var folder = new TemporaryFolder();
        var manifest = SaveTiny(folder.Path);
        var manifestPath = Path.Combine(Published(folder.Path), ModelFolder.ManifestFileName);
        File.WriteAllText(manifestPath, (manifest with { Categories = [.. ThreeCategories, "Footwear/Sandal"] }).ToJson());

        var error = Assert.Throws<ModelLoadException>(() => ModelFolder.Load(folder.Path));

        Assert.StartsWith("head.classifier.", error.TensorName);
        Assert.Equal(Path.Combine(Published(folder.Path), ModelFolder.WeightsFileName), error.FilePath);
        Assert.Contains("4 categories", error.Message);
        Assert.Contains("[3", error.Message);
    }

    [Fact]
    public void Weights_from_another_save_with_the_same_shapes_are_caught_by_the_checksum()
    {
        using var first = new TemporaryFolder();
        using var second = new TemporaryFolder();
        SaveTiny(first.Path, seed: 1);
        SaveTiny(second.Path, seed: 2);
        File.Copy(Path.Combine(Published(second.Path), ModelFolder.WeightsFileName), Path.Combine(Published(first.Path), ModelFolder.WeightsFileName), overwrite: true);

        var error = Assert.Throws<ModelLoadException>(() => ModelFolder.Load(first.Path));

        Assert.Contains("SHA-256", error.Message);
    }

    [Fact]
    public void Missing_manifest_and_missing_folder_are_reported_by_name()
    {
        using var folder = new TemporaryFolder();
        SaveTiny(folder.Path);
        var manifestPath = Path.Combine(Published(folder.Path), ModelFolder.ManifestFileName);
        File.Delete(manifestPath);

        var error = Assert.Throws<ModelLoadException>(() => ModelFolder.Load(folder.Path));
        Assert.Equal(manifestPath, error.FilePath);

        var nowhere = Path.Combine(folder.Path, "no-such-model");
        Assert.Equal(nowhere, Assert.Throws<ModelLoadException>(() => ModelFolder.Load(nowhere)).FilePath);
    }

    [Theory]
    [InlineData("{ not json", "not a valid manifest")]
    [InlineData("null", "not a valid manifest")]
    [InlineData("[]", "not a valid manifest")]
    [InlineData("""{"backbone":"alexnet"}""", "alexnet")]
    [InlineData("""{"formatVersion":2}""", "format version 2")]
    [InlineData("""{"categories":["Apparel/Tops/Shirt"]}""", "at least two")]
    [InlineData("""{"categories":["Apparel/Tops/Shirt","Apparel//Shirt"]}""", "Apparel//Shirt")]
    [InlineData("""{"categories":["Apparel/Tops/Shirt","Apparel/Tops/Shirt"]}""", "listed twice")]
    [InlineData("""{"headHiddenChannels":0}""", "headHiddenChannels")]
    [InlineData("""{"inputSize":null}""", "not a valid manifest")]
    [InlineData("""{"preprocessing":{"channelOrder":"RGB","scale":1,"mean":[0,0],"std":[1,1,1],"usesMeanImage":false}}""", "preprocessing.mean")]
    public void Invalid_manifest_is_reported_by_name_with_the_problem(string patch, string expectedInMessage)
    {
        using var folder = new TemporaryFolder();
        SaveTiny(folder.Path);
        var manifestPath = Path.Combine(Published(folder.Path), ModelFolder.ManifestFileName);
        File.WriteAllText(manifestPath, Patch(File.ReadAllText(manifestPath), patch));

        var error = Assert.Throws<ModelLoadException>(() => ModelFolder.Load(folder.Path));

        Assert.Equal(manifestPath, error.FilePath);
        Assert.Contains(manifestPath, error.Message);
        Assert.Contains(expectedInMessage, error.Message);
    }

    /// <summary>Overwrites the patch's properties in a valid manifest, or replaces it whole when the patch is not an object.</summary>
    private static string Patch(string manifestJson, string patch)
    {
        JsonNode? changes;
        try
        {
            changes = JsonNode.Parse(patch);
        }
        catch (System.Text.Json.JsonException)
        {
            return patch;
        }
        if (changes is not JsonObject properties) return patch;
        var manifest = JsonNode.Parse(manifestJson)!.AsObject();
        foreach (var (name, value) in properties.ToList())
            manifest[name] = value?.DeepClone();
        return manifest.ToJsonString();
    }
}
