using RetailCam.Engine.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Data;

public class BackgroundMattingTests
{
    /// <summary>
    /// A pack-shot as a photographer delivers it: a product (an ellipse, with a white logo disc in it
    /// that a colour key would punch out) on a near-white sheet with sensor noise; the true shape beside it.
    /// </summary>
    private static (Image<Rgb24> Photo, bool[] Truth) PackShot(int side, Rgb24 sheet, Rgb24 product, int seed, bool greyNoise = false)
    {
        var random = new Random(seed);
        var photo = new Image<Rgb24>(side, side);
        var truth = new bool[side * side];
        double cx = side * 0.55, cy = side * 0.45, rx = side * 0.3, ry = side * 0.22;
        for (var y = 0; y < side; y++)
        {
            for (var x = 0; x < side; x++)
            {
                var inside = Math.Pow((x - cx) / rx, 2) + Math.Pow((y - cy) / ry, 2) <= 1;
                var logo = Math.Pow(x - cx, 2) + Math.Pow(y - cy, 2) <= Math.Pow(ry * 0.4, 2);
                truth[y * side + x] = inside;
                var colour = inside ? (logo ? new Rgb24(255, 255, 255) : product) : sheet;
                var shared = random.Next(-8, 9);
                byte Noisy(byte v) => (byte)Math.Clamp(v + (greyNoise ? shared : random.Next(-8, 9)), 0, 255);
                photo[x, y] = new Rgb24(Noisy(colour.R), Noisy(colour.G), Noisy(colour.B));
            }
        }
        return (photo, truth);
    }

    private static double IoU(Matte matte, bool[] truth)
    {
        int both = 0, either = 0;
        for (var y = 0; y < matte.Alpha.Height; y++)
        {
            for (var x = 0; x < matte.Alpha.Width; x++)
            {
                var cut = matte.Alpha[x, y].PackedValue > 0;
                var real = truth[y * matte.Alpha.Width + x];
                if (cut && real) both++;
                if (cut || real) either++;
            }
        }
        return (double)both / either;
    }

    [Theory]
    [InlineData(255, 255, 255, 200, 40, 30)] // a red product on white
    [InlineData(250, 248, 240, 40, 60, 200)] // blue on an off-white sheet
    [InlineData(0, 0, 0, 180, 180, 180)] // grey on black, as Fashion-MNIST is shot
    public void A_pack_shot_is_cut_along_its_true_shape_and_keeps_the_white_detail_inside(byte sr, byte sg, byte sb, byte pr, byte pg, byte pb)
    {
        var (photo, truth) = PackShot(96, new Rgb24(sr, sg, sb), new Rgb24(pr, pg, pb), seed: 5);
        using (photo)
        {
            using var matte = BackgroundMatting.Cut(photo);
            Assert.NotNull(matte);
            var iou = IoU(matte, truth);
            Assert.True(iou > 0.97, $"mask IoU with the true shape {iou:F3}");
            Assert.InRange(matte.ProductShare, 0.15, 0.25);
        }
    }

    [Fact]
    public void A_photo_without_a_plain_border_is_not_a_pack_shot()
    {
        using var photo = new Image<Rgb24>(64, 64);
        var random = new Random(2);
        for (var y = 0; y < 64; y++)
            for (var x = 0; x < 64; x++)
                photo[x, y] = new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
        Assert.Null(BackgroundMatting.Cut(photo));
        using var blank = new Image<Rgb24>(64, 64, new Rgb24(255, 255, 255));
        Assert.Null(BackgroundMatting.Cut(blank));
    }

    [Fact]
    public void A_colour_pack_shot_becomes_a_cutout_trimmed_to_the_product_and_a_grey_one_a_coverage_mask()
    {
        var (photo, _) = PackShot(96, new Rgb24(255, 255, 255), new Rgb24(200, 40, 30), seed: 1);
        using (photo)
        using (var article = SceneArticle.FromPhoto("3", photo))
        {
            Assert.NotNull(article.Article.Colour);
            // The ellipse is 2·0.3·96 ≈ 58 wide and 2·0.22·96 ≈ 42 high.
            Assert.InRange(article.Article.Colour!.Width, 55, 61);
            Assert.InRange(article.Article.Colour.Height, 39, 45);
            Assert.Equal(0, article.Article.Colour[0, 0].A);
        }
        var (grey, _) = PackShot(96, new Rgb24(0, 0, 0), new Rgb24(180, 180, 180), seed: 1, greyNoise: true);
        using (grey)
        using (var article = SceneArticle.FromPhoto("1", grey))
        {
            Assert.Null(article.Article.Colour);
            Assert.True(article.Article.Coverage[article.Article.Coverage.Width / 2, article.Article.Coverage.Height / 4].PackedValue > 100);
        }
        using var busy = new Image<Rgb24>(32, 32, new Rgb24(10, 200, 10));
        busy[0, 0] = new Rgb24(255, 0, 0);
        using var whole = SceneArticle.FromPhoto("0", busy);
        Assert.Equal((32, 32), (whole.Article.Coverage.Width, whole.Article.Coverage.Height));
    }
}
