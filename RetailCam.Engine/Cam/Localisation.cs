using RetailCam.Engine.Imaging;

namespace RetailCam.Engine.Cam;

/// <summary>One connected region of a thresholded class map.</summary>
public sealed record MapRegion(PixelBox Box, int PixelCount, float PeakValue);

/// <summary>
/// Boxes and masks from a class map, as in Zhou et al. 2016: keep the pixels at or above a fraction
/// of the map's maximum (default 0.2), then take connected components (8-connected).
/// </summary>
public static class Localisation
{
    public const double DefaultThresholdFraction = 0.2;

    /// <summary>Mask of pixels ≥ fraction · max(map). Row-major, width × height.</summary>
    public static bool[] Mask(ReadOnlySpan<float> map, double thresholdFraction = DefaultThresholdFraction)
    {
        if (thresholdFraction is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(thresholdFraction), "Must be in [0, 1].");
        var max = float.MinValue;
        foreach (var v in map) max = Math.Max(max, v);
        var mask = new bool[map.Length];
        if (map.Length == 0 || max <= 0) return mask;
        var threshold = (float)(thresholdFraction * max);
        for (var i = 0; i < map.Length; i++) mask[i] = map[i] >= threshold;
        return mask;
    }

    /// <summary>Connected components of the thresholded map, largest first.</summary>
    public static IReadOnlyList<MapRegion> Regions(ReadOnlySpan<float> map, int width, int height, double thresholdFraction = DefaultThresholdFraction) =>
        Label(map, width, height, thresholdFraction, out _).Select(r => r.Region).ToList();

    /// <summary>The box of the largest connected component, or null when nothing reaches the threshold.</summary>
    public static PixelBox? LargestBox(ReadOnlySpan<float> map, int width, int height, double thresholdFraction = DefaultThresholdFraction)
    {
        var regions = Label(map, width, height, thresholdFraction, out _);
        return regions.Count == 0 ? null : regions[0].Region.Box;
    }

    /// <summary>Mask of the largest connected component only (the product's mask).</summary>
    public static bool[] LargestComponentMask(ReadOnlySpan<float> map, int width, int height, double thresholdFraction = DefaultThresholdFraction)
    {
        var regions = Label(map, width, height, thresholdFraction, out var labels);
        var result = new bool[map.Length];
        if (regions.Count == 0) return result;
        var largest = regions[0].Label;
        for (var i = 0; i < labels.Length; i++) result[i] = labels[i] == largest;
        return result;
    }

    private static List<(int Label, MapRegion Region)> Label(ReadOnlySpan<float> map, int width, int height, double thresholdFraction, out int[] labels)
    {
        if (map.Length != width * height) throw new ArgumentException($"Map has {map.Length} values, expected {width}×{height}.");
        var mask = Mask(map, thresholdFraction);
        labels = new int[mask.Length];
        var regions = new List<(int, MapRegion)>();
        var stack = new Stack<int>();
        var next = 0;
        for (var start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || labels[start] != 0) continue;
            next++;
            int xMin = int.MaxValue, yMin = int.MaxValue, xMax = -1, yMax = -1, count = 0;
            var peak = float.MinValue;
            labels[start] = next;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var p = stack.Pop();
                int x = p % width, y = p / width;
                count++;
                peak = Math.Max(peak, map[p]);
                xMin = Math.Min(xMin, x); xMax = Math.Max(xMax, x);
                yMin = Math.Min(yMin, y); yMax = Math.Max(yMax, y);
                for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                {
                    int nx = x + dx, ny = y + dy;
                    if ((dx | dy) == 0 || nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
                    var q = ny * width + nx;
                    if (!mask[q] || labels[q] != 0) continue;
                    labels[q] = next;
                    stack.Push(q);
                }
            }
            regions.Add((next, new MapRegion(new PixelBox(xMin, yMin, xMax + 1, yMax + 1), count, peak)));
        }
        regions.Sort((a, b) => b.Item2.PixelCount.CompareTo(a.Item2.PixelCount));
        return regions;
    }

    /// <summary>
    /// Separate products of one class: every component holding at least minAreaFraction of the
    /// largest one, so one photo of two shirts gives two boxes but speckle gives none.
    /// </summary>
    public static IReadOnlyList<MapRegion> ProductRegions(ReadOnlySpan<float> map, int width, int height,
        double thresholdFraction = DefaultThresholdFraction, double minAreaFraction = DefaultMinAreaFraction) =>
        ProductLabels(map, width, height, thresholdFraction, minAreaFraction, out _).Select(r => r.Region).ToList();

    public const double DefaultMinAreaFraction = 0.25;

    private static List<(int Label, MapRegion Region)> ProductLabels(ReadOnlySpan<float> map, int width, int height,
        double thresholdFraction, double minAreaFraction, out int[] labels)
    {
        var regions = Label(map, width, height, thresholdFraction, out labels);
        if (regions.Count == 0) return regions;
        var minimum = regions[0].Region.PixelCount * minAreaFraction;
        return regions.Where(r => r.Region.PixelCount >= minimum).ToList();
    }

    /// <summary>
    /// The products' mask of a class map at feature resolution, on the grid its heat map and boxes are
    /// drawn at (see <see cref="ProductBoxes"/>): exactly the pixels of the regions that become boxes,
    /// so the mask and the boxes always agree. Row-major, <c>GridWidth × GridHeight</c>.
    /// </summary>
    public static (bool[] Mask, int GridWidth, int GridHeight) ProductMask(ReadOnlySpan<float> map, int width, int height, int photoWidth, int photoHeight,
        double thresholdFraction = DefaultThresholdFraction, int maxSide = ClassMapOverlay.MaxTransparentSide)
    {
        var (gridWidth, gridHeight) = ClassMapOverlay.TransparentSize(photoWidth, photoHeight, maxSide);
        var upsampled = MapUpsampling.Bilinear(map, width, height, gridWidth, gridHeight);
        var products = ProductLabels(upsampled, gridWidth, gridHeight, thresholdFraction, DefaultMinAreaFraction, out var labels)
            .Select(r => r.Label).ToHashSet();
        var mask = new bool[labels.Length];
        for (var i = 0; i < labels.Length; i++) mask[i] = labels[i] != 0 && products.Contains(labels[i]);
        return (mask, gridWidth, gridHeight);
    }

    /// <summary>
    /// The products a class map at feature resolution shows, in photo pixels: the map is upsampled by
    /// <see cref="MapUpsampling.Bilinear"/> to the grid its heat map is drawn at (the photo's aspect, at most
    /// <paramref name="maxSide"/> on the longer side, as <see cref="ClassMapOverlay.TransparentSize"/>), its
    /// product regions found there and scaled to the photo, so each box outlines what the overlay shows hot.
    /// </summary>
    public static IReadOnlyList<PixelBox> ProductBoxes(ReadOnlySpan<float> map, int width, int height, int photoWidth, int photoHeight,
        double thresholdFraction = DefaultThresholdFraction, int maxSide = ClassMapOverlay.MaxTransparentSide)
    {
        var (gridWidth, gridHeight) = ClassMapOverlay.TransparentSize(photoWidth, photoHeight, maxSide);
        var upsampled = MapUpsampling.Bilinear(map, width, height, gridWidth, gridHeight);
        return ProductRegions(upsampled, gridWidth, gridHeight, thresholdFraction)
            .Select(region => region.Box.Scale((double)photoWidth / gridWidth, (double)photoHeight / gridHeight))
            .Select(box => new PixelBox(Math.Max(0, box.XMin), Math.Max(0, box.YMin), Math.Min(photoWidth, box.XMax), Math.Min(photoHeight, box.YMax)))
            .ToList();
    }
}
