using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Native;
using RetailCam.Tests.Imaging;
using SixLabors.ImageSharp.Formats.Png;
using static TorchSharp.torch;

namespace RetailCam.Tests.Data;

public class StreamingDataLoaderTests
{
    internal static (string Root, LabelledImage[] Good) GoodImages(int count)
    {
        var root = TestImages.TempDirectory();
        var good = new LabelledImage[count];
        for (var i = 0; i < count; i++)
        {
            var relative = $"C{i % 3}/{i:D3}.png";
            CatalogueTests.WritePng(root, relative, (byte)(i * 7));
            good[i] = new LabelledImage(Path.Combine(root, relative), i % 3);
        }
        return (root, good);
    }

    internal static DataLoaderOptions Options(int batch = 4, int size = 16, int workers = 2, int prefetch = 2, bool shuffle = true) => new()
    {
        BatchSize = batch,
        ImageSize = size,
        Workers = workers,
        PrefetchBatches = prefetch,
        Shuffle = shuffle,
        Seed = 7,
    };

    [Fact]
    public async Task Bad_files_are_skipped_and_reported_and_the_epoch_goes_on()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        var (root, good) = GoodImages(9);
        var bad = new Dictionary<string, ImageDecodeErrorKind>
        {
            ["empty.png"] = ImageDecodeErrorKind.Empty,
            ["text.jpg"] = ImageDecodeErrorKind.NotAnImage,
            ["bomb.png"] = ImageDecodeErrorKind.TooLarge,
            ["cut.png"] = ImageDecodeErrorKind.CorruptOrTruncated,
            ["missing.png"] = ImageDecodeErrorKind.NotAnImage,
        };
        File.WriteAllBytes(Path.Combine(root, "empty.png"), []);
        File.WriteAllText(Path.Combine(root, "text.jpg"), "hello");
        File.WriteAllBytes(Path.Combine(root, "bomb.png"), ImageFileDecoderTests.PngWithHeaderOnly(100_000, 100_000));
        using (var image = TestImages.Coordinates(16, 16))
        {
            var png = TestImages.Encode(image, new PngEncoder());
            File.WriteAllBytes(Path.Combine(root, "cut.png"), png[..(png.Length / 2)]);
        }
        var items = good.Concat(bad.Keys.Select(name => new LabelledImage(Path.Combine(root, name), 0))).ToArray();
        var loader = new StreamingDataLoader(items, Options(), augment: true);
        var reported = new List<SkippedFile>();
        loader.FileSkipped += s => { lock (reported) reported.Add(s); };

        var seen = new List<string>();
        await foreach (var batch in loader.ReadEpochAsync(0))
        {
            using (batch)
            using (NewDisposeScope())
            {
                using var tensors = batch.ToTensors();
                Assert.Equal([batch.Count, 3L, 16, 16], tensors.Images.shape);
                Assert.Equal(ScalarType.Float32, tensors.Images.dtype);
                Assert.Equal(ScalarType.Int64, tensors.Labels.dtype);
                Assert.Equal([(long)batch.Count], tensors.Labels.shape);
                Assert.InRange(tensors.Images.max().item<float>(), 0f, 255f);
                Assert.Equal(batch.Count, tensors.Paths.Count);
                seen.AddRange(tensors.Paths);
            }
        }

        Assert.Equal(good.Select(g => g.Path).Order(), seen.Order());
        Assert.Equal(bad.Count, reported.Count);
        foreach (var skipped in loader.Skipped)
            Assert.Equal(bad[Path.GetFileName(skipped.Path)], skipped.Kind);
        Assert.Equal(0, loader.PendingBatches);
    }

    [Fact]
    public void Same_seed_gives_the_same_batches_and_another_epoch_another_order()
    {
        var (_, good) = GoodImages(10);
        byte[][] Run(int epoch, int workers)
        {
            var loader = new StreamingDataLoader(good, Options(batch: 3, workers: workers), augment: true);
            return loader.ReadEpoch(epoch).Select(b =>
            {
                using (b) return b.Pixels.ToArray().Concat(b.Paths.SelectMany(p => System.Text.Encoding.UTF8.GetBytes(p))).ToArray();
            }).ToArray();
        }

        var first = Run(0, workers: 2);
        var again = Run(0, workers: 3);
        Assert.Equal(4, first.Length);
        Assert.Equal(first, again); // worker count and timing do not change content or order
        Assert.NotEqual(first, Run(1, workers: 2));
    }

    [Fact]
    public void Every_item_comes_once_per_epoch_in_order_when_not_shuffled()
    {
        var (_, good) = GoodImages(10);
        var loader = new StreamingDataLoader(good, Options(batch: 4, shuffle: false), augment: false);
        var paths = loader.ReadEpoch(0).SelectMany(b => { using (b) return b.Paths.ToArray(); }).ToArray();
        Assert.Equal(good.Select(g => g.Path), paths);
        Assert.Equal(2, new StreamingDataLoader(good, new DataLoaderOptions { BatchSize = 4, DropLast = true }, augment: false).BatchesPerEpoch);
    }

    [Fact]
    public async Task Cancellation_stops_the_epoch_and_returns_every_buffer()
    {
        var (_, good) = GoodImages(6);
        var items = Enumerable.Range(0, 400).Select(i => good[i % good.Length]).ToArray();
        var loader = new StreamingDataLoader(items, Options(batch: 4, size: 32), augment: true);
        using var cancel = new CancellationTokenSource();
        var taken = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync(0, cancel.Token))
            {
                batch.Dispose();
                if (++taken == 3)
                    cancel.Cancel();
            }
        });
        Assert.Equal(3, taken);
        Assert.Equal(0, loader.PendingBatches);
    }

    [Fact]
    public void A_scene_keeps_the_size_changes_the_background_and_names_the_products_it_holds()
    {
        using var article = TestImages.Solid(28, 28, 0, 0, 0);
        for (var y = 8; y < 20; y++)
            for (var x = 8; x < 20; x++)
                article[x, y] = new SixLabors.ImageSharp.PixelFormats.Rgb24(255, 255, 255);
        var augmenter = new TrainingAugmenter(new AugmentationOptions { ColourJitter = false, HorizontalFlip = false }, 64);
        var (scene, labels) = augmenter.ComposeScene([(article, 3), (article, 5)], new Random(3));
        using (scene)
        {
            Assert.Equal((64, 64), (scene.Width, scene.Height));
            var corners = new[] { scene[0, 0], scene[63, 0], scene[0, 63], scene[63, 63] };
            Assert.Contains(corners, c => c != new SixLabors.ImageSharp.PixelFormats.Rgb24(0, 0, 0));
            Assert.Equal([3, 5], labels);
        }
        var (empty, none) = augmenter.ComposeScene([], new Random(4));
        using (empty) Assert.Empty(none);
    }

    [Fact]
    public void Scene_batches_carry_multi_hot_targets_that_agree_with_the_labels()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        var (_, good) = GoodImages(24);
        var options = Options(batch: 8, size: 32);
        options.ClassCount = 3;
        options.Augmentation = new AugmentationOptions { SceneProbability = 1, EmptySceneShare = 0.25 };
        var loader = new StreamingDataLoader(good, options, augment: true);
        int several = 0, empty = 0;
        foreach (var batch in loader.ReadEpoch(0))
        {
            using (batch)
            {
                using var scope = NewDisposeScope();
                var tensors = batch.ToTensors();
                Assert.Equal([batch.Count, 3L], tensors.Targets!.shape);
                var targets = tensors.Targets.data<float>().ToArray();
                for (var i = 0; i < batch.Count; i++)
                {
                    var row = targets.AsSpan(i * 3, 3).ToArray();
                    Assert.All(row, v => Assert.True(v is 0 or 1));
                    var label = batch.Labels[i];
                    if (label < 0)
                    {
                        Assert.All(row, v => Assert.Equal(0, v));
                        empty++;
                    }
                    else
                    {
                        Assert.Equal(1, row[label]);
                    }
                    if (row.Sum() >= 2) several++;
                }
            }
        }
        Assert.True(several > 0, "no scene held products of two categories");
        Assert.True(empty > 0, "no scene was left empty");
    }

    [Fact]
    public void Scenes_at_their_own_side_come_in_whole_batches_of_that_side_the_same_in_every_reading()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        var (_, good) = GoodImages(64);
        var options = Options(batch: 4, size: 32);
        options.ClassCount = 3;
        options.SceneImageSize = 48;
        options.Augmentation = new AugmentationOptions { SceneProbability = 0.5, EmptySceneShare = 0 };
        var loader = new StreamingDataLoader(good, options, augment: true);
        var sides = new List<int>();
        foreach (var batch in loader.ReadEpoch(0))
        {
            using (batch)
            {
                Assert.Equal(loader.IsSceneBatch(0, batch.Index) ? 48 : 32, batch.Size);
                using var scope = NewDisposeScope();
                var tensors = batch.ToTensors();
                Assert.Equal([batch.Count, 3L, batch.Size, batch.Size], tensors.Images.shape);
                sides.Add(batch.Size);
            }
        }
        Assert.Contains(48, sides);
        Assert.Contains(32, sides);
        var again = loader.ReadEpoch(0).Select(b => { using (b) return b.Size; }).ToList();
        Assert.Equal(sides, again);
        // Without augmentation (evaluation) nothing is a scene.
        var plain = new StreamingDataLoader(good, options, augment: false);
        Assert.All(plain.ReadEpoch(0), b => { using (b) Assert.Equal(32, b.Size); });
    }

    [Fact]
    public void Disabled_augmentation_is_a_centre_crop_and_jitter_alone_changes_colours_but_not_geometry()
    {
        using var photo = TestImages.Coordinates(12, 8);
        using var expected = ImageFitter.Fit(photo, 8, 8, FitMode.CentreCrop);
        using var plain = new TrainingAugmenter(new AugmentationOptions { Enabled = false }, 8).Apply(photo, new Random(1));
        Assert.Equal(expected[3, 5], plain[3, 5]);

        var jitterOnly = new AugmentationOptions { Strength = 1, RandomResizedCrop = false, HorizontalFlip = false };
        var changed = 0;
        for (var seed = 0; seed < 10; seed++)
        {
            using var jittered = new TrainingAugmenter(jitterOnly, 8).Apply(photo, new Random(seed));
            Assert.Equal((8, 8), (jittered.Width, jittered.Height));
            if (jittered[3, 5] != expected[3, 5]) changed++;
        }
        Assert.True(changed >= 8, $"jitter changed the colour in only {changed} of 10 draws");
    }

    [Fact]
    public void A_failing_worker_surfaces_its_own_exception_not_a_cancellation()
    {
        var (root, good) = GoodImages(8);
        File.WriteAllText(Path.Combine(root, "bad.png"), "not a png");
        var items = good.Take(4).Append(new LabelledImage(Path.Combine(root, "bad.png"), 0)).Concat(good.Skip(4)).ToArray();
        var loader = new StreamingDataLoader(items, Options(batch: 2, shuffle: false), augment: false);
        loader.FileSkipped += _ => throw new InvalidOperationException("observer broke");
        var error = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var batch in loader.ReadEpoch(0))
                batch.Dispose();
        });
        Assert.Equal("observer broke", error.Message);
        Assert.Equal(0, loader.PendingBatches);
    }

    [Fact]
    public void Invalid_loader_options_are_refused()
    {
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() => new StreamingDataLoader([], new DataLoaderOptions { Workers = 0 }, augment: false));
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() =>
            new StreamingDataLoader([], new DataLoaderOptions { Augmentation = new AugmentationOptions { Strength = 2 } }, augment: false));
    }
}

/// <summary>Measures process-wide managed memory, so it runs with no other test in parallel.</summary>
[CollectionDefinition(nameof(MemorySensitive), DisableParallelization = true)]
public sealed class MemorySensitive;

[Collection(nameof(MemorySensitive))]
public class StreamingDataLoaderMemoryTests
{
    [Fact]
    public void Decoded_but_unconsumed_batches_never_exceed_queue_plus_workers_and_memory_stays_flat()
    {
        // 2,000 items of 96² RGB: ~55 MB if the loader ran ahead of a slow consumer unbounded,
        // ~0.5 MB within the bound (prefetch 3 + 2 workers, batch 8).
        var (_, good) = StreamingDataLoaderTests.GoodImages(6);
        var items = Enumerable.Range(0, 2000).Select(i => good[i % good.Length]).ToArray();
        var options = StreamingDataLoaderTests.Options(batch: 8, size: 96, workers: 2, prefetch: 3);
        var loader = new StreamingDataLoader(items, options, augment: true);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long worst = 0;
        var batches = 0;
        foreach (var batch in loader.ReadEpoch(0))
        {
            using (batch)
            {
                Assert.True(loader.PendingBatches <= options.PrefetchBatches + options.Workers, $"{loader.PendingBatches} batches pending");
                // A consumer slower than the workers: at first it waits for the queue to fill
                // (up to a second, so a loaded machine cannot make the test vacuous), then it
                // keeps lagging a little.
                if (batches < 20)
                    SpinWait.SpinUntil(() => loader.PendingBatches >= options.PrefetchBatches, TimeSpan.FromSeconds(1));
                else
                    Thread.Sleep(1);
                Assert.True(loader.PendingBatches <= options.PrefetchBatches + options.Workers, $"{loader.PendingBatches} batches pending");
                if (++batches % 50 == 0)
                    worst = Math.Max(worst, GC.GetTotalMemory(forceFullCollection: true) - baseline);
            }
        }

        Assert.Equal(250, batches);
        Assert.InRange(loader.PeakPendingBatches, options.PrefetchBatches, options.PrefetchBatches + options.Workers); // the queue did fill
        Assert.True(worst < 16 * 1024 * 1024, $"managed memory grew by {worst / 1048576.0:0.0} MB");
    }
}
