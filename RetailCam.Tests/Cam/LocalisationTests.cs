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

    /// <summary>A map that is 1 inside the box and 0 elsewhere: its largest component is that box at any threshold.</summary>
    private static float[] Plateau(int width, int height, PixelBox box)
    {
        var map = new float[width * height];
        for (var y = box.YMin; y < box.YMax; y++)
        for (var x = box.XMin; x < box.XMax; x++)
            map[y * width + x] = 1f;
        return map;
    }

    [Fact]
    public void Max_box_accuracy_and_mean_iou_match_values_worked_out_by_hand()
    {
        // Predicted boxes are plateaus, so the box the metric finds is known without running it:
        // sample 1: predicted [0,0)-(10,10), truth (0,0)-(10,10): IoU 1.
        // sample 2: predicted (0,0)-(10,10), truth (5,0)-(15,10): overlap 5·10 = 50, union 150, IoU 1/3 (wrong).
        // sample 3: predicted (0,0)-(10,10), truth (2,0)-(12,10): overlap 80, union 120, IoU 2/3 (right).
        // sample 4: predicted (0,0)-(10,10), truths (20,20)-(30,30) [IoU 0] and (0,0)-(10,5) [overlap 50, union 100, IoU 1/2]: best 1/2 (right, ≥ 0.5).
        var predicted = new PixelBox(0, 0, 10, 10);
        var map = Plateau(32, 32, predicted);
        var samples = new[]
        {
            new LocalisationSample(map, 32, 32, [new PixelBox(0, 0, 10, 10)]),
            new LocalisationSample(map, 32, 32, [new PixelBox(5, 0, 15, 10)]),
            new LocalisationSample(map, 32, 32, [new PixelBox(2, 0, 12, 10)]),
            new LocalisationSample(map, 32, 32, [new PixelBox(20, 20, 30, 30), new PixelBox(0, 0, 10, 5)]),
        };

        var score = LocalisationMetrics.Score(samples, [0.5]);

        Assert.Equal(3.0 / 4.0, score.MaxBoxAcc, 12);
        Assert.Equal((1.0 + 1.0 / 3.0 + 2.0 / 3.0 + 0.5) / 4.0, score.MeanIoU, 12);
        Assert.Equal(0.5, score.BestThreshold);
    }

    [Fact]
    public void Max_box_accuracy_takes_the_best_threshold_with_boxes_worked_out_by_hand()
    {
        // A 20×10 map: a core of 1.0 at columns 4–7 and a halo of 0.3 over columns 0–11 (rows 0–9).
        // At τ = 0.2 the box is the halo (0,0)-(12,10); at τ = 0.5 the core (4,0)-(8,10).
        // Truth (0,0)-(12,10): IoU 1 at τ = 0.2, 40/120 = 1/3 at τ = 0.5.
        var map = new float[20 * 10];
        for (var y = 0; y < 10; y++)
        for (var x = 0; x < 12; x++)
            map[y * 20 + x] = x is >= 4 and < 8 ? 1f : 0.3f;
        var samples = new[] { new LocalisationSample(map, 20, 10, [new PixelBox(0, 0, 12, 10)]) };

        var score = LocalisationMetrics.Score(samples, [0.5, 0.2]);

        Assert.Equal(1.0, score.MaxBoxAcc, 12);
        Assert.Equal(0.2, score.BestThreshold);
        Assert.Equal(1.0, score.MeanIoU, 12);
        Assert.Equal(1.0 / 3.0, LocalisationMetrics.Score(samples, [0.5]).MeanIoU, 12);
        Assert.Equal(0.0, LocalisationMetrics.Score(samples, [0.5]).MaxBoxAcc);
    }

    [Fact]
    public void A_box_outlines_what_its_overlay_shows_hot()
    {
        // A 4×4 map with one hot cell, for a 90×60 photo: the overlay is drawn on the same upsampled grid,
        // so every pixel at or above the threshold lies inside the box and the box's edges touch such pixels.
        var map = new float[16];
        map[1 * 4 + 2] = 1f;
        var box = Localisation.ProductBoxes(map, 4, 4, 90, 60, 0.5).Single();
        var upsampled = MapUpsampling.Bilinear(map, 4, 4, 90, 60);
        var hot = Enumerable.Range(0, upsampled.Length).Where(i => upsampled[i] >= 0.5f).Select(i => (X: i % 90, Y: i / 90)).ToList();

        Assert.NotEmpty(hot);
        Assert.All(hot, p => Assert.True(box.Contains(p.X, p.Y), $"hot pixel {p} outside {box}"));
        Assert.Equal((hot.Min(p => p.X), hot.Min(p => p.Y), hot.Max(p => p.X) + 1, hot.Max(p => p.Y) + 1), (box.XMin, box.YMin, box.XMax, box.YMax));
    }

    [Fact]
    public void The_product_mask_holds_exactly_the_regions_that_become_boxes()
    {
        // Two products (hot cells far apart) and one speck below a quarter of the largest: two boxes, and
        // the mask is their pixels, nothing of the speck and nothing between them.
        var map = new float[8 * 8];
        map[1 * 8 + 1] = 1f; map[1 * 8 + 2] = 1f; map[2 * 8 + 1] = 1f; map[2 * 8 + 2] = 1f;
        map[5 * 8 + 5] = 1f; map[5 * 8 + 6] = 1f; map[6 * 8 + 5] = 1f; map[6 * 8 + 6] = 1f;
        map[1 * 8 + 6] = 0.55f;
        var boxes = Localisation.ProductBoxes(map, 8, 8, 160, 160, 0.5);
        var (mask, width, height) = Localisation.ProductMask(map, 8, 8, 160, 160, 0.5);

        Assert.Equal(2, boxes.Count);
        Assert.Equal((160, 160), (width, height));
        var masked = Enumerable.Range(0, mask.Length).Where(i => mask[i]).Select(i => (X: i % width, Y: i / width)).ToList();
        Assert.All(masked, p => Assert.True(boxes.Any(b => b.Contains(p.X, p.Y)), $"mask pixel {p} outside every box"));
        foreach (var box in boxes)
        {
            var inside = masked.Where(p => box.Contains(p.X, p.Y)).ToList();
            Assert.Equal((box.XMin, box.YMin, box.XMax, box.YMax), (inside.Min(p => p.X), inside.Min(p => p.Y), inside.Max(p => p.X) + 1, inside.Max(p => p.Y) + 1));
        }
        Assert.False(mask[30 * width + 130], "the speck is not a product");
        Assert.False(mask[80 * width + 80], "nothing between the products");
    }

    [Fact]
    public void The_mask_layer_dims_the_background_clears_the_product_and_outlines_it()
    {
        var mask = new bool[10 * 10];
        for (var y = 3; y < 7; y++) for (var x = 3; x < 7; x++) mask[y * 10 + x] = true;
        using var layer = ClassMapOverlay.RenderMask(mask, 10, 10, dimming: 0.5f);

        Assert.Equal(new SixLabors.ImageSharp.PixelFormats.Rgba32(0, 0, 0, 128), layer[0, 0]);
        Assert.Equal(new SixLabors.ImageSharp.PixelFormats.Rgba32(255, 255, 255, 255), layer[3, 3]);
        Assert.Equal(0, layer[4, 4].A);
        Assert.Throws<ArgumentException>(() => ClassMapOverlay.RenderMask(mask, 9, 10));
    }
}
