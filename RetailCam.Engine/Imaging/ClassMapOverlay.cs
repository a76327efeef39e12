using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Engine.Imaging;

/// <summary>Where the alpha of a rendered heat map comes from.</summary>
public enum HeatMapAlpha
{
    /// <summary>Alpha = value × opacity: cold regions vanish, the photo shows through.</summary>
    FromValue,
    /// <summary>Alpha = opacity everywhere.</summary>
    Constant,
}

/// <summary>
/// Colours a <see cref="HeatMap"/> and lays it over a photo. Pure functions: inputs are never
/// changed, arguments are checked, and nothing here needs torch.
/// </summary>
public static class ClassMapOverlay
{
    /// <summary>
    /// The photo with the coloured map blended on top: out = (1 − opacity)·photo + opacity·colour.
    /// The map is upsampled bilinearly to the photo's size.
    /// </summary>
    public static Image<Rgb24> Blend(Image<Rgb24> photo, HeatMap map, ColourMap colourMap, float opacity)
    {
        ArgumentNullException.ThrowIfNull(photo);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(colourMap);
        CheckOpacity(opacity);

        using var levels = Upsample(map, photo.Width, photo.Height);
        var result = photo.Clone();
        var weight = (int)MathF.Round(opacity * 256);
        result.ProcessPixelRows(levels, (target, source) =>
        {
            for (var y = 0; y < target.Height; y++)
            {
                var row = target.GetRowSpan(y);
                var values = source.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    var colour = colourMap[values[x].PackedValue >> 8];
                    ref var p = ref row[x];
                    p.R = (byte)((p.R * (256 - weight) + colour.R * weight + 128) >> 8);
                    p.G = (byte)((p.G * (256 - weight) + colour.G * weight + 128) >> 8);
                    p.B = (byte)((p.B * (256 - weight) + colour.B * weight + 128) >> 8);
                }
            }
        });
        return result;
    }

    /// <summary>
    /// The coloured map alone with transparency, at width × height (the map's own size when
    /// omitted), so a browser can lay it over the photo and change its opacity with CSS.
    /// </summary>
    public static Image<Rgba32> RenderTransparent(HeatMap map, ColourMap colourMap, HeatMapAlpha alpha, float opacity = 1f, int? width = null, int? height = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(colourMap);
        CheckOpacity(opacity);
        if (!Enum.IsDefined(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Unknown alpha mode.");
        var targetWidth = width ?? map.Width;
        var targetHeight = height ?? map.Height;
        ArgumentOutOfRangeException.ThrowIfLessThan(targetWidth, 1, nameof(width));
        ArgumentOutOfRangeException.ThrowIfLessThan(targetHeight, 1, nameof(height));

        using var levels = Upsample(map, targetWidth, targetHeight);
        var result = new Image<Rgba32>(targetWidth, targetHeight);
        var constantAlpha = (byte)MathF.Round(opacity * 255);
        result.ProcessPixelRows(levels, (target, source) =>
        {
            for (var y = 0; y < target.Height; y++)
            {
                var row = target.GetRowSpan(y);
                var values = source.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    var level = values[x].PackedValue;
                    var colour = colourMap[level >> 8];
                    var a = alpha == HeatMapAlpha.Constant ? constantAlpha : (byte)((level * (uint)constantAlpha + 32767) / 65535);
                    row[x] = new Rgba32(colour.R, colour.G, colour.B, a);
                }
            }
        });
        return result;
    }

    /// <summary>
    /// A product mask as a transparent layer: outside the mask the photo is dimmed, inside it is clear,
    /// and the mask's edge is drawn in white, so the product stands out the way a cut-out would.
    /// </summary>
    public static Image<Rgba32> RenderMask(ReadOnlySpan<bool> mask, int width, int height, float dimming = 0.6f)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (mask.Length != width * height) throw new ArgumentException($"The mask has {mask.Length} values, expected {width}×{height}.", nameof(mask));
        CheckOpacity(dimming);
        var outside = new Rgba32(0, 0, 0, (byte)MathF.Round(dimming * 255));
        var edge = new Rgba32(255, 255, 255, 255);
        var result = new Image<Rgba32>(width, height);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = y * width + x;
            if (!mask[i]) { result[x, y] = outside; continue; }
            // A mask pixel with a 4-neighbour outside the mask (or at the border) is the outline.
            var isEdge = x == 0 || y == 0 || x == width - 1 || y == height - 1
                || !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width];
            result[x, y] = isEdge ? edge : default;
        }
        return result;
    }

    /// <summary>
    /// Longest side of a transparent heat map sent to a browser. The map is a bilinear upsampling of
    /// a 14×14 (or so) class map, so it holds no detail a browser's own scaling would lose; colouring
    /// and PNG-encoding it at full photo size was most of the upload → overlay time (docs/BENCHMARKS.md).
    /// </summary>
    public const int MaxTransparentSide = 448;

    /// <summary>The size to render a transparent map for a photo: the photo's aspect, at most <paramref name="maxSide"/> on its longer side.</summary>
    public static (int Width, int Height) TransparentSize(int photoWidth, int photoHeight, int maxSide = MaxTransparentSide)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(photoWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(photoHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSide, 1);
        var scale = Math.Min(1.0, (double)maxSide / Math.Max(photoWidth, photoHeight));
        return (Math.Max(1, (int)Math.Round(photoWidth * scale)), Math.Max(1, (int)Math.Round(photoHeight * scale)));
    }

    /// <summary>PNG bytes of an overlay or a transparent heat map.</summary>
    public static byte[] EncodePng(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder { CompressionLevel = PngCompressionLevel.BestSpeed });
        return stream.ToArray();
    }

    public static void CheckOpacity(float opacity)
    {
        if (!(opacity >= 0f && opacity <= 1f))
            throw new ArgumentOutOfRangeException(nameof(opacity), opacity, "Opacity must lie in [0, 1] (0 = photo only, 1 = map only).");
    }

    // The map goes through the one upsampler that boxes use, then into 16-bit levels, so what is hot
    // in the picture is what the box-finder saw.
    private static Image<L16> Upsample(HeatMap map, int width, int height)
    {
        var values = MapUpsampling.Bilinear(map.Values, map.Width, map.Height, width, height);
        var levels = new L16[values.Length];
        for (var i = 0; i < levels.Length; i++)
            levels[i] = new L16((ushort)MathF.Round(Math.Clamp(values[i], 0f, 1f) * 65535f));
        return Image.LoadPixelData<L16>(levels, width, height);
    }
}
