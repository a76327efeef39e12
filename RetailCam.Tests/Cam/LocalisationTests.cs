using RetailCam.Engine.Cam;
using RetailCam.Engine.Imaging;

namespace RetailCam.Tests.Cam;

public class LocalisationTests
{
    /// <summary>A map with Gaussian-like blobs at the given centres, as a trained CAM would show for separate products.</summary>
    private static float[] Blobs(int width, int height, params (int X, int Y, float Radius, float Peak)[] blobs)
    {
        var map = new float[width * height];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            foreach (var b in blobs)
            {
                var d2 = (x - b.X) * (x - b.X) + (y - b.Y) * (y - b.Y);
                map[y * width + x] = Math.Max(map[y * width + x], b.Peak * MathF.Exp(-d2 / (2 * b.Radius * b.Radius)));
            }
        return map;
    }

    [Fact]
    public void Largest_component_box_encloses_the_strongest_blob()
    {
        var map = Blobs(64, 48, (20, 20, 6, 1f), (50, 35, 3, 0.9f));
        var box = Localisation.LargestBox(map, 64, 48)!.Value;
        Assert.InRange(box.XMin, 5, 19);
        Assert.InRange(box.XMax, 21, 36);
        Assert.InRange(box.YMin, 5, 19);
        Assert.InRange(box.YMax, 21, 36);
        Assert.True(box.XMax < 45, "the second blob must not be merged in");
    }

    [Fact]
    public void Two_products_of_one_class_give_two_boxes_and_speckle_gives_none()
    {
        var map = Blobs(80, 40, (18, 20, 5, 1f), (60, 20, 5, 0.95f), (40, 3, 0.4f, 0.5f));
        var products = Localisation.ProductRegions(map, 80, 40);
        Assert.Equal(2, products.Count);
        Assert.Contains(products, r => r.Box.XMax <= 40);
        Assert.Contains(products, r => r.Box.XMin >= 40);
    }

    [Fact]
    public void Threshold_fraction_follows_the_maximum_and_is_checked()
    {
        var map = new float[] { 0f, 0.1f, 0.19f, 0.2f, 0.5f, 1f };
        Assert.Equal(new[] { false, false, false, true, true, true }, Localisation.Mask(map));
        Assert.Equal(new[] { false, false, false, false, true, true }, Localisation.Mask(map, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Localisation.Mask(map, 1.5));
        Assert.Null(Localisation.LargestBox(new float[16], 4, 4));
    }

    [Fact]
    public void Largest_component_mask_holds_only_that_component()
    {
        var map = Blobs(40, 20, (8, 10, 3, 1f), (30, 10, 1.5f, 1f));
        var mask = Localisation.LargestComponentMask(map, 40, 20, 0.5);
        Assert.True(mask[10 * 40 + 8]);
        Assert.False(mask[10 * 40 + 30]);
    }

    [Fact]
    public void IoU_of_known_boxes()
    {
        var a = new PixelBox(0, 0, 10, 10);
        Assert.Equal(1.0, a.IoU(a));
        Assert.Equal(0.0, a.IoU(new PixelBox(10, 0, 20, 10)));
        Assert.Equal(25.0 / 175.0, a.IoU(new PixelBox(5, 5, 15, 15)), 9);
    }

    [Fact]
    public void Max_box_accuracy_counts_a_sample_right_when_iou_reaches_one_half()
    {
        var good = Blobs(32, 32, (16, 16, 4, 1f));
        var goodTruth = Localisation.LargestBox(good, 32, 32, 0.3)!.Value;
        var far = new PixelBox(0, 0, 4, 4);
        var samples = new[]
        {
            new LocalisationSample(good, 32, 32, [goodTruth]),
            new LocalisationSample(good, 32, 32, [far, goodTruth]),
            new LocalisationSample(good, 32, 32, [far]),
        };
        var score = LocalisationMetrics.Score(samples);
        Assert.Equal(2.0 / 3.0, score.MaxBoxAcc, 9);
        Assert.Equal(2.0 / 3.0, score.MeanIoU, 9);
        Assert.InRange(score.BestThreshold, 0.05, 0.3);
        Assert.Equal(3, score.Samples);
    }
}
