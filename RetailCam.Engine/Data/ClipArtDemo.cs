using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RetailCam.Engine.Data;

/// <summary>A department of the clip-art demo: its category path, and the topic folder (below the clip-art root) it is drawn from.</summary>
public sealed record ClipArtDepartment(string Category, string SourceFolder);

/// <summary>A source file that did not become a pack-shot, and why.</summary>
public sealed record ClipArtSkipped(string Path, string Reason);

/// <summary>
/// The second demo catalogue: real colour artwork from Debian's openclipart-png (topic folders of PNGs,
/// most with true alpha). Each department's files become pack-shots, composited on white in a square
/// with a margin, in DIR/catalogue/&lt;category&gt;; the cut-outs of the catalogue's test split, their
/// alpha their mask, are pasted 1–3 at a time onto varied backgrounds at sides 224–448 in DIR/scenes
/// with boxes.csv. A model trained on the catalogue's training split never saw a scene's articles.
/// </summary>
public static class ClipArtDemo
{
    /// <summary>Where Debian's package puts the PNGs (apt-get install openclipart-png, or dpkg -x of its .deb).</summary>
    public const string DebianFolder = "/usr/share/openclipart/png";

    /// <summary>Side of a pack-shot; the article fills at most <see cref="ArticleSide"/> of it.</summary>
    public const int PackShotSide = 256;

    public const int ArticleSide = 224;

    /// <summary>Larger files are skipped before decoding (the package holds a few of 170 MP).</summary>
    public const long MaxSourcePixels = 40_000_000;

    public const int MinSceneSide = 224;
    public const int MaxSceneSide = 448;

    /// <summary>Eight departments of 50–150 pictures each, a few hundred colour pack-shots like a retailer's own catalogue.</summary>
    public static IReadOnlyList<ClipArtDepartment> DefaultDepartments { get; } =
    [
        new("Food/Fruit", "food/fruit"),
        new("Food/Desserts", "food/desserts"),
        new("Home/Tools", "tools"),
        new("Home/Office", "office"),
        new("Electronics/Computer hardware", "computer/hardware"),
        new("Toys/Vehicles", "transportation/vehicles"),
        new("Toys/Animals", "animals/mammals"),
        new("Sports", "recreation/sports"),
    ];

    private static readonly PngEncoder Png = new() { CompressionLevel = PngCompressionLevel.BestSpeed, ColorType = PngColorType.Rgb };

    public static DemoDataResult Build(string sourceRoot, string outputDirectory, int scenes, int seed, IReadOnlyList<ClipArtDepartment>? departments = null,
        StableSplitter? splitter = null, IProgress<DemoProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(scenes);
        if (!Directory.Exists(sourceRoot))
            throw new DemoDataException($"No clip art at '{sourceRoot}': install Debian's openclipart-png (apt-get install openclipart-png), " +
                "or unpack its .deb (apt-get download openclipart-png; dpkg -x openclipart-png_*.deb DIR) and pass DIR/usr/share/openclipart/png.");
        var clock = Stopwatch.StartNew();
        departments ??= DefaultDepartments;
        splitter ??= StableSplitter.Default;
        var catalogue = Path.Combine(outputDirectory, "catalogue");
        var sources = departments.SelectMany(d => SourceFiles(sourceRoot, d).Select(file => (Department: d, File: file))).ToList();

        var skipped = new System.Collections.Concurrent.ConcurrentBag<ClipArtSkipped>();
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var cutouts = new System.Collections.Concurrent.ConcurrentBag<(string RelativePath, string Category, Image<Rgba32> Cutout)>();
        int written = 0, present = 0, done = 0;
        try
        {
            Parallel.ForEach(sources, new ParallelOptions { CancellationToken = cancellationToken }, source =>
            {
                var relative = $"{source.Department.Category}/{PackShotName(Path.Combine(sourceRoot, source.Department.SourceFolder), source.File)}";
                var target = Path.Combine(catalogue, relative);
                try
                {
                    using var cutout = LoadCutout(source.File, out var transparent);
                    if (File.Exists(target))
                    {
                        Interlocked.Increment(ref present);
                    }
                    else
                    {
                        using var packShot = PackShot(cutout);
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        DemoDataWriter.SaveAtomically(packShot, target, Png);
                        Interlocked.Increment(ref written);
                    }
                    counts.AddOrUpdate(source.Department.Category, 1, (_, n) => n + 1);
                    // Only held-out articles go into scenes, and only those whose alpha gives a true mask.
                    if (scenes > 0 && transparent && splitter.Assign(relative) == DatasetSplit.Test)
                        cutouts.Add((relative, source.Department.Category, cutout.Clone()));
                }
                catch (Exception ex) when (ex is ImageFormatException or DemoDataException or IOException)
                {
                    skipped.Add(new ClipArtSkipped(source.File, ex.Message));
                }
                var finished = Interlocked.Increment(ref done);
                if (finished % 50 == 0 || finished == sources.Count)
                    progress?.Report(new DemoProgress("catalogue", finished, sources.Count));
            });

            // Sorted, so that the scenes depend on the seed alone, not on the order threads finished in.
            var articles = cutouts.OrderBy(c => c.RelativePath, StringComparer.Ordinal).ToList();
            if (scenes > 0 && articles.Count == 0)
                throw new DemoDataException("No transparent picture fell into the test split, so no scene can be composed: choose larger departments.");
            var (sceneCount, boxes) = WriteScenes(Path.Combine(outputDirectory, "scenes"), articles.Select(a => (a.Category, a.Cutout)).ToList(), scenes, seed, progress, cancellationToken);
            return new DemoDataResult(catalogue, Path.Combine(outputDirectory, "scenes"),
                counts.OrderBy(c => c.Key, StringComparer.Ordinal).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal),
                written + present, written, present, sceneCount, boxes, seed, Math.Round(clock.Elapsed.TotalSeconds, 2),
                articles.Count, skipped.OrderBy(s => s.Path, StringComparer.Ordinal).ToList());
        }
        finally
        {
            foreach (var cutout in cutouts) cutout.Cutout.Dispose();
        }
    }

    /// <summary>
    /// A picture as an article: decoded with its alpha (palette and grey pictures with transparency keep
    /// it), trimmed to what is drawn and scaled so its longer side is <see cref="ArticleSide"/>. Refuses huge
    /// files before decoding. <paramref name="transparent"/> tells whether the picture had any transparency, a
    /// mask worth pasting (an opaque picture would paste as a rectangle of its own background).
    /// </summary>
    public static Image<Rgba32> LoadCutout(string file, out bool transparent)
    {
        var info = Image.Identify(file) ?? throw new DemoDataException("not an image ImageSharp can read");
        if ((long)info.Width * info.Height > MaxSourcePixels)
            throw new DemoDataException($"{info.Width} × {info.Height} is over the {MaxSourcePixels / 1_000_000} MP limit");
        var image = Image.Load<Rgba32>(file);
        var (drawn, hasTransparency) = SurveyAlpha(image);
        transparent = hasTransparency;
        // Many drawings sit in a wide transparent margin: trimmed to what is drawn, each fills its pack-shot.
        if (drawn is { } bounds && (bounds.Width < image.Width || bounds.Height < image.Height))
            image.Mutate(x => x.Crop(bounds));
        var scale = (double)ArticleSide / Math.Max(image.Width, image.Height);
        image.Mutate(x => x.Resize(Math.Max(1, (int)Math.Round(image.Width * scale)), Math.Max(1, (int)Math.Round(image.Height * scale)), KnownResamplers.Bicubic));
        return image;
    }

    /// <summary>The cut-out centred on a white square of <see cref="PackShotSide"/>, as product photos are shot.</summary>
    public static Image<Rgb24> PackShot(Image<Rgba32> cutout)
    {
        using var canvas = new Image<Rgba32>(PackShotSide, PackShotSide, new Rgba32(255, 255, 255, 255));
        canvas.Mutate(x => x.DrawImage(cutout, new Point((PackShotSide - cutout.Width) / 2, (PackShotSide - cutout.Height) / 2), 1f));
        return canvas.CloneAs<Rgb24>();
    }

    private static (int Scenes, int Boxes) WriteScenes(string directory, IReadOnlyList<(string Category, Image<Rgba32> Cutout)> articles, int count, int seed,
        IProgress<DemoProgress>? progress, CancellationToken cancellationToken)
    {
        var sceneArticles = articles.Select(a => SceneArticle.FromCutout(a.Category, a.Cutout)).ToList();
        try
        {
            var (rows, _, _) = DemoDataWriter.WriteSceneSet(directory, count, seed, 0xC11A7, Png, (_, random) =>
            {
                var side = random.Next(MinSceneSide, MaxSceneSide + 1);
                var composer = new ShopSceneComposer(new ShopSceneOptions { Size = side, MinArticleSize = side / 4, MaxArticleSize = side / 2, MaxArticles = 3 });
                var picks = Enumerable.Range(0, 1 + random.Next(composer.Options.MaxArticles)).Select(_ => sceneArticles[random.Next(sceneArticles.Count)]).ToArray();
                return composer.Compose(picks, random);
            }, progress, cancellationToken);
            return (count, rows.Count);
        }
        finally
        {
            foreach (var article in sceneArticles) article.Coverage.Dispose();
        }
    }

    private static IEnumerable<string> SourceFiles(string root, ClipArtDepartment department)
    {
        var folder = Path.Combine(root, department.SourceFolder);
        if (!Directory.Exists(folder))
            throw new DemoDataException($"Department '{department.Category}': no folder '{department.SourceFolder}' under {root}.");
        return Directory.EnumerateFiles(folder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal);
    }

    /// <summary>The file's path below its topic folder as one name ("kitchen-knife.png"), so sub-topics cannot collide.</summary>
    private static string PackShotName(string topicFolder, string file)
    {
        var relative = Path.GetRelativePath(topicFolder, file);
        var name = string.Join('-', relative.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray());
        return Path.ChangeExtension(safe, ".png");
    }

    /// <summary>
    /// One pass over the alpha: the bounds of what is drawn (not nearly transparent), or null when nothing is,
    /// and whether any pixel is transparent at all.
    /// </summary>
    private static (Rectangle? Drawn, bool Transparent) SurveyAlpha(Image<Rgba32> image)
    {
        int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
        var transparent = false;
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    var alpha = row[x].A;
                    if (alpha < 250) transparent = true;
                    if (alpha <= 8) continue;
                    (minX, maxX, minY, maxY) = (Math.Min(minX, x), Math.Max(maxX, x), Math.Min(minY, y), Math.Max(maxY, y));
                }
            }
        });
        return (maxX < 0 ? null : new Rectangle(minX, minY, maxX - minX + 1, maxY - minY + 1), transparent);
    }
}
