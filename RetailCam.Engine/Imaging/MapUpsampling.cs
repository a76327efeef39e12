namespace RetailCam.Engine.Imaging;

/// <summary>
/// The one upsampler for class maps: heat maps, overlays and boxes all read the map through it, so a
/// box found on a map lies exactly where the overlay of that map is hot.
/// </summary>
public static class MapUpsampling
{
    /// <summary>Bilinear upsampling with half-pixel centres (as PyTorch's align_corners=false), edges clamped.</summary>
    public static float[] Bilinear(ReadOnlySpan<float> map, int width, int height, int targetWidth, int targetHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetHeight, 1);
        if (map.Length != (long)width * height)
            throw new ArgumentException($"Expected {width} × {height} values, got {map.Length}.", nameof(map));
        var result = new float[targetWidth * targetHeight];
        var sx = (double)width / targetWidth;
        var sy = (double)height / targetHeight;
        for (var y = 0; y < targetHeight; y++)
        {
            var fy = Math.Clamp((y + 0.5) * sy - 0.5, 0, height - 1);
            var y0 = (int)fy; var y1 = Math.Min(y0 + 1, height - 1); var ty = (float)(fy - y0);
            for (var x = 0; x < targetWidth; x++)
            {
                var fx = Math.Clamp((x + 0.5) * sx - 0.5, 0, width - 1);
                var x0 = (int)fx; var x1 = Math.Min(x0 + 1, width - 1); var tx = (float)(fx - x0);
                var top = map[y0 * width + x0] * (1 - tx) + map[y0 * width + x1] * tx;
                var bottom = map[y1 * width + x0] * (1 - tx) + map[y1 * width + x1] * tx;
                result[y * targetWidth + x] = top * (1 - ty) + bottom * ty;
            }
        }
        return result;
    }
}
