using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Tests.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Data;

public class ShopSceneTests
{
    /// <summary>A 28×28 white-on-black article: a filled ellipse, like a Fashion-MNIST bag.</summary>
    internal static Image<L8> Article(int seed)
    {
        var random = new Random(seed);
        var image = new Image<L8>(28, 28);
        var (cx, cy, rx, ry) = (14 + random.Next(-3, 4), 14 + random.Next(-3, 4), random.Next(5, 11), random.Next(5, 11));
        for (var y = 0; y < 28; y++)
            for (var x = 0; x < 28; x++)
            {
                var d = Math.Pow((x - cx) / (double)rx, 2) + Math.Pow((y - cy) / (double)ry, 2);
                image[x, y] = new L8((byte)(d <= 1 ? 120 + random.Next(136) : 0));
            }
        return image;
    }

    [Fact]
    public void Boxes_are_the_tight_extent_of_each_pasted_mask_and_nothing_outside_them_changes()
    {
        using var a = Article(1);
        using var b = Article(2);
        using var c = Article(3);
        using var background = TestImages.Solid(224, 224, 10, 200, 30);
        var composer = new ShopSceneComposer();
        for (var seed = 0; seed < 20; seed++)
        {
            using var scene = composer.Compose([new("Bags", a), new("Shoes", b), new("Hats", c)], new Random(seed), background);
            Assert.Equal(3, scene.Articles.Count);
            foreach (var placed in scene.Articles)
            {
                var box = placed.Box;
                Assert.InRange(Math.Max(placed.Alpha.Width, placed.Alpha.Height), 56, 160);
                Assert.True(box.XMin >= 0 && box.YMin >= 0 && box.XMax <= 224 && box.YMax <= 224, box.ToString());
                // Every non-zero mask pixel lies in the box, and each edge of the box touches one.
                int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
                for (var y = 0; y < placed.Alpha.Height; y++)
                    for (var x = 0; x < placed.Alpha.Width; x++)
                        if (placed.Alpha[x, y].PackedValue > 0)
                        {
                            minX = Math.Min(minX, placed.Location.X + x);
                            maxX = Math.Max(maxX, placed.Location.X + x);
                            minY = Math.Min(minY, placed.Location.Y + y);
                            maxY = Math.Max(maxY, placed.Location.Y + y);
                        }
                Assert.Equal(new PixelBox(minX, minY, maxX + 1, maxY + 1), box);
            }
            for (var y = 0; y < 224; y += 3)
                for (var x = 0; x < 224; x += 3)
                    if (!scene.Articles.Any(p => p.Box.Contains(x, y)))
                        Assert.Equal(background[x, y], scene.Image[x, y]);
        }
        Assert.Equal(new Rgb24(10, 200, 30), background[5, 5]); // the background passed in is not changed
    }

    [Fact]
    public void Same_seed_gives_the_same_scene_and_another_seed_another()
    {
        using var a = Article(1);
        using var b = Article(2);
        var composer = new ShopSceneComposer();
        byte[] Render(int seed)
        {
            using var scene = composer.Compose([new("Bags", a), new("Shoes", b)], new Random(seed));
            var bytes = new byte[224 * 224 * 3];
            scene.Image.CopyPixelDataTo(bytes);
            return bytes.Concat(scene.Articles.SelectMany(p => BitConverter.GetBytes(p.Box.XMin * 1000 + p.Box.YMax))).ToArray();
        }
        Assert.Equal(Render(42), Render(42));
        Assert.NotEqual(Render(42), Render(43));
    }

    [Fact]
    public void Every_background_kind_renders_and_backgrounds_vary()
    {
        var firstPixels = new HashSet<Rgb24>();
        foreach (var kind in Enum.GetValues<SceneBackgroundKind>())
        {
            using var image = SceneBackgrounds.Create(64, 48, kind, new Random((int)kind));
            Assert.Equal((64, 48), (image.Width, image.Height));
            firstPixels.Add(image[0, 0]);
        }
        Assert.True(firstPixels.Count >= 5);
    }

    [Fact]
    public void An_empty_article_is_left_out()
    {
        using var blank = new Image<L8>(28, 28);
        using var scene = new ShopSceneComposer().ComposeSingle(new SceneArticle("Nothing", blank), new Random(1));
        Assert.Empty(scene.Articles);
    }
}
