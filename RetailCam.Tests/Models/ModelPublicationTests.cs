using RetailCam.Engine.Inference;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using RetailCam.Tests.Support;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

/// <summary>A model saved again is published in one step: readers see the old model or the new one, and a crash in between loses neither.</summary>
public sealed class ModelPublicationTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("retailcam-publication-").FullName;

    public ModelPublicationTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private static CamNetwork Tiny(long seed, int classes = 4)
    {
        random.manual_seed(seed);
        return CamNetworkFactory.CreateNew(BackboneKind.Vgg16, classes, headHiddenChannels: 8, backboneWidth: 0.0625);
    }

    private static ModelManifest Describe(CamNetwork network) => ModelManifest.Describe(network, TinyModels.Categories, 64);

    [Fact]
    public void A_crash_between_writing_a_model_and_publishing_it_leaves_the_previous_model_served_and_the_start_cleans_up()
    {
        var slot = Path.Combine(root, "model");
        using var first = Tiny(1);
        var published = ModelFolder.Save(slot, first, Describe(first));
        using var second = Tiny(2);
        // The process dies after the new version is on disk and before the pointer moves.
        var (unpublished, _) = ModelFolder.Write(slot, second, Describe(second));
        // … and another died in the middle of writing one: a staging folder of a process that is gone.
        var halfWritten = Path.Combine(slot, ".staging-999999-0123456789abcdef");
        Directory.CreateDirectory(halfWritten);
        File.WriteAllBytes(Path.Combine(halfWritten, ModelFolder.WeightsFileName), new byte[100]);

        Assert.Equal(published.WeightsSha256, ModelFolder.ReadManifest(slot).WeightsSha256);
        using (var loaded = ModelFolder.Load(slot)) Assert.Equal(published.WeightsSha256, loaded.Manifest.WeightsSha256);

        var removed = ModelFolder.CleanLeftovers(slot);

        Assert.Contains(Path.Combine(slot, unpublished), removed);
        Assert.Contains(halfWritten, removed);
        Assert.Equal([ModelFolder.PointerFileName], Directory.GetFiles(slot).Select(Path.GetFileName));
        Assert.Single(Directory.GetDirectories(slot));
        using var after = ModelFolder.Load(slot);
        Assert.Equal(published.WeightsSha256, after.Manifest.WeightsSha256);
    }

    [Fact]
    public void A_save_under_way_in_a_live_process_is_not_taken_for_a_leftover()
    {
        var slot = Path.Combine(root, "model");
        using var network = Tiny(1);
        ModelFolder.Save(slot, network, Describe(network));
        var ours = Path.Combine(slot, $".staging-{Environment.ProcessId}-0123456789abcdef");
        Directory.CreateDirectory(ours);

        Assert.DoesNotContain(ours, ModelFolder.CleanLeftovers(slot));
        Assert.True(Directory.Exists(ours));
    }

    [Fact]
    public async Task Readers_loading_while_a_model_is_saved_again_and_again_always_get_a_whole_model()
    {
        var slot = Path.Combine(root, "model");
        var networks = Enumerable.Range(1, 3).Select(seed => Tiny(seed)).ToList();
        try
        {
            var hashes = networks.Select((n, i) => ModelFolder.Save(Path.Combine(root, $"reference-{i}"), n, Describe(n)).WeightsSha256).ToHashSet();
            ModelFolder.Save(slot, networks[0], Describe(networks[0]));
            using var stop = new CancellationTokenSource();
            var loads = 0;
            var reader = Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var loaded = ModelFolder.Load(slot);
                    Assert.Contains(loaded.Manifest.WeightsSha256, hashes);
                    Interlocked.Increment(ref loads);
                }
            });
            // Saves go on until the reader has loaded many times across them (a tiny model saves in milliseconds).
            for (var i = 0; (i < 30 || Volatile.Read(ref loads) < 30) && i < 5000; i++) ModelFolder.Save(slot, networks[i % 3], Describe(networks[i % 3]));
            stop.Cancel();
            await reader; // rethrows what a reader saw
            Assert.True(loads > 0);
            // The published version and the one before it stay; older ones go.
            Assert.Equal(2, Directory.GetDirectories(slot).Length);
        }
        finally
        {
            foreach (var n in networks) n.Dispose();
        }
    }

    [Fact]
    public void A_folder_saved_before_versions_existed_still_loads_and_its_next_save_becomes_a_version()
    {
        var slot = Path.Combine(root, "model");
        using var first = Tiny(1);
        var legacy = ModelFolder.Save(Path.Combine(root, "staging"), first, Describe(first));
        Directory.CreateDirectory(slot);
        var version = ModelFolder.Resolve(Path.Combine(root, "staging"))!;
        foreach (var file in Directory.GetFiles(version)) File.Copy(file, Path.Combine(slot, Path.GetFileName(file)));

        Assert.Equal(slot, ModelFolder.Resolve(slot));
        using (var loaded = ModelFolder.Load(slot)) Assert.Equal(legacy.WeightsSha256, loaded.Manifest.WeightsSha256);

        using var second = Tiny(2);
        var saved = ModelFolder.Save(slot, second, Describe(second));
        Assert.NotEqual(slot, ModelFolder.Resolve(slot));
        Assert.Equal([ModelFolder.PointerFileName], Directory.GetFiles(slot).Select(Path.GetFileName));
        using var reloaded = ModelFolder.Load(slot);
        Assert.Equal(saved.WeightsSha256, reloaded.Manifest.WeightsSha256);
    }

    [Fact]
    public void A_damaged_model_is_listed_as_broken_with_its_reason_and_is_never_the_default()
    {
        var layout = new DataRootLayout(root);
        TinyModels.Save(layout.PlacedModelFolder("good"), seed: 1);
        Thread.Sleep(20); // the newer one would be the default
        var damaged = TinyModels.Save(layout.PlacedModelFolder("damaged"), seed: 2);
        File.WriteAllText(Path.Combine(ModelFolder.Resolve(damaged)!, ModelFolder.ManifestFileName), "{ not json");
        var registry = new ModelRegistry(layout);

        var broken = Assert.Single(registry.List(), m => m.Id == "model:damaged");
        Assert.Contains("not a valid manifest", broken.Broken);
        Assert.Equal("model:good", registry.Default()!.Id);
        Assert.Null(registry.List().Single(m => m.Id == "model:good").Broken);
    }

    [Fact]
    public void A_model_whose_weights_failed_to_load_stays_broken_until_it_is_published_again()
    {
        var layout = new DataRootLayout(root);
        var folder = TinyModels.Save(layout.PlacedModelFolder("m"), seed: 1);
        var registry = new ModelRegistry(layout);
        registry.MarkBroken(registry.Locate("model:m")!, "model.safetensors: does not match the SHA-256 recorded");

        Assert.NotNull(registry.Find("model:m")!.Broken);
        Assert.Null(registry.Default());

        TinyModels.Save(folder, seed: 2);
        Assert.Null(registry.Find("model:m")!.Broken);
        Assert.Equal("model:m", registry.Default()!.Id);
    }
}
