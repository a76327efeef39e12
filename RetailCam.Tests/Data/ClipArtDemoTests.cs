using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Tests.Models;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Data;

public sealed class ClipArtDemoTests : IDisposable
{
    private const int PerTopic = 24;
    private readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    private static readonly ClipArtDepartment[] Departments = [new("Fruit/Red", "food/red"), new("Tools", "tools")];

    /// <summary>
    /// A stand-in for the openclipart topic folders: per topic, drawings of one colour on a transparent
    /// canvas with a wide margin (as many real ones have), one opaque RGB picture, and one file that is not an image.
    /// </summary>
    private string Source()
    {
        var root = Path.Combine(folder.Path, "png");
        foreach (var (topic, colour) in new[] { ("food/red", new Rgba32(220, 30, 30, 255)), ("tools", new Rgba32(30, 30, 220, 255)) })
        {
            var dir = Path.Combine(root, topic, "sub");
            Directory.CreateDirectory(dir);
            for (var i = 0; i < PerTopic; i++)
            {
                using var image = new Image<Rgba32>(400, 300);
                // Drawn part: 100 wide and 50 + 2i tall at (150, 120); the rest transparent.
                for (var y = 120; y < 170 + 2 * i && y < 300; y++)
                for (var x = 150; x < 250; x++)
                    image[x, y] = colour;
                image.SaveAsPng(Path.Combine(dir, $"drawing {i}.png"));
            }
            using (var opaque = new Image<Rgb24>(64, 64, new Rgb24(colour.R, colour.G, colour.B)))
                opaque.SaveAsPng(Path.Combine(root, topic, "opaque.png"));
            File.WriteAllText(Path.Combine(root, topic, "broken.png"), "not a picture");
        }
        return root;
    }

    [Fact]
    public void Each_department_becomes_white_pack_shots_that_the_drawing_fills_and_bad_files_are_reported()
    {
        var output = Path.Combine(folder.Path, "demo");
        var result = ClipArtDemo.Build(Source(), output, scenes: 0, seed: 1, Departments);

        Assert.Equal(new Dictionary<string, int> { ["Fruit/Red"] = PerTopic + 1, ["Tools"] = PerTopic + 1 }, result.Counts);
        Assert.Equal(2, result.Skipped?.Count);
        Assert.All(result.Skipped!, s => Assert.EndsWith("broken.png", s.Path, StringComparison.Ordinal));

        // The margin is trimmed: the drawing (100 × 50) is scaled to 224 wide, centred on a white 256² square.
        using var shot = Image.Load<Rgb24>(Path.Combine(output, "catalogue", "Fruit/Red", "sub-drawing_0.png"));
        Assert.Equal((ClipArtDemo.PackShotSide, ClipArtDemo.PackShotSide), (shot.Width, shot.Height));
        Assert.Equal(new Rgb24(255, 255, 255), shot[0, 0]);
        var drawn = NonWhiteBounds(shot);
        Assert.InRange(drawn.Width, ClipArtDemo.ArticleSide - 2, ClipArtDemo.ArticleSide);
        Assert.InRange(drawn.Height, 112 - 2, 112 + 2);
        Assert.InRange(drawn.X, 16 - 1, 16 + 1);
        var centre = shot[128, 128];
        Assert.True(centre.R > 200 && centre.G < 60 && centre.B < 60, $"centre {centre}");
    }

    [Fact]
    public void Scenes_paste_only_held_out_transparent_drawings_with_tight_boxes_and_the_seed_fixes_them()
    {
        var source = Source();
        var first = ClipArtDemo.Build(source, Path.Combine(folder.Path, "one"), scenes: 12, seed: 5, Departments);
        var second = ClipArtDemo.Build(source, Path.Combine(folder.Path, "two"), scenes: 12, seed: 5, Departments);

        // Exactly the test-split drawings are cut out for scenes; the opaque picture never is.
        var expected = Departments.SelectMany(d => Enumerable.Range(0, PerTopic).Select(i => $"{d.Category}/sub-drawing_{i}.png"))
            .Count(path => StableSplitter.Default.Assign(path) == DatasetSplit.Test);
        Assert.True(expected > 0);
        Assert.Equal(expected, first.SceneCutouts);

        var rows = BoxesCsv.Read(Path.Combine(first.ScenesDirectory, BoxesCsv.FileName));
        Assert.Equal(first.SceneArticles, rows.Count);
        Assert.Equal(File.ReadAllText(Path.Combine(first.ScenesDirectory, BoxesCsv.FileName)), File.ReadAllText(Path.Combine(second.ScenesDirectory, BoxesCsv.FileName)));
        foreach (var scene in rows.GroupBy(r => r.File))
        {
            using var image = Image.Load<Rgb24>(Path.Combine(first.ScenesDirectory, scene.Key));
            Assert.Equal(image.Width, image.Height);
            Assert.InRange(image.Width, ClipArtDemo.MinSceneSide, ClipArtDemo.MaxSceneSide);
            Assert.InRange(scene.Count(), 1, 3);
            foreach (var row in scene)
            {
                Assert.Contains(row.Category, Departments.Select(d => d.Category));
                Assert.True(row.XMin >= 0 && row.YMin >= 0 && row.XMax <= image.Width && row.YMax <= image.Height && row.XMin < row.XMax && row.YMin < row.YMax);
            }
        }
    }

    [Fact]
    public void A_colour_cutout_keeps_its_pixels_and_its_alpha_is_the_box()
    {
        using var cutout = new Image<Rgba32>(40, 20);
        for (var y = 5; y < 15; y++)
        for (var x = 10; x < 30; x++)
            cutout[x, y] = new Rgba32(20, 40, 200, 255);
        var article = SceneArticle.FromCutout("Blue", cutout);
        using var coverage = article.Coverage;
        using var background = new Image<Rgb24>(100, 100, new Rgb24(128, 128, 128));
        var composer = new ShopSceneComposer(new ShopSceneOptions { Size = 100, MinArticleSize = 40, MaxArticleSize = 40 });

        using var scene = composer.Compose([article], new Random(3), background);

        var placed = Assert.Single(scene.Articles);
        var changed = ChangedBounds(scene.Image, new Rgb24(128, 128, 128));
        Assert.Equal(new PixelBox(changed.Left, changed.Top, changed.Right, changed.Bottom), placed.Box);
        var middle = scene.Image[(placed.Box.XMin + placed.Box.XMax) / 2, (placed.Box.YMin + placed.Box.YMax) / 2];
        Assert.Equal(new Rgb24(20, 40, 200), middle);
    }

    private static Rectangle NonWhiteBounds(Image<Rgb24> image) => ChangedBounds(image, new Rgb24(255, 255, 255));

    private static Rectangle ChangedBounds(Image<Rgb24> image, Rgb24 background)
    {
        int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
        for (var y = 0; y < image.Height; y++)
        for (var x = 0; x < image.Width; x++)
        {
            var p = image[x, y];
            if (Math.Abs(p.R - background.R) + Math.Abs(p.G - background.G) + Math.Abs(p.B - background.B) <= 12) continue;
            (minX, maxX, minY, maxY) = (Math.Min(minX, x), Math.Max(maxX, x), Math.Min(minY, y), Math.Max(maxY, y));
        }
        return new Rectangle(minX, minY, maxX - minX + 1, maxY - minY + 1);
    }
}
