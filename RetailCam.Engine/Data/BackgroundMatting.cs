using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Engine.Data;

/// <summary>A photo's product mask (255 product, 0 background) and the plain background colour it was cut from.</summary>
public sealed record Matte(Image<L8> Alpha, Rgb24 Background, double ProductShare) : IDisposable
{
    public void Dispose() => Alpha.Dispose();
}

/// <summary>
/// Cuts a pack-shot from its plain background, as e-commerce tools do: the background colour is the
/// median of the border, and the background is what a flood fill from the border reaches through
/// pixels close to that colour. A white detail inside the product is not reached, so it stays
/// product (a colour key alone would punch it out). Photos whose border is not plain (a shop photo,
/// a model shot) are not pack-shots and get no matte.
/// </summary>
public static class BackgroundMatting
{
    /// <summary>Largest RGB distance from the background colour that still counts as background (JPEG noise, soft shadows).</summary>
    public const double DefaultTolerance = 40;

    /// <summary>Share of border pixels that must match the background colour for a photo to be a pack-shot (a product may touch the edge, as garments filling the frame do).</summary>
    public const double PlainBorderShare = 0.6;

    /// <summary>The matte of a pack-shot, or null when the photo has no plain border or the cut leaves (almost) nothing or everything.</summary>
    public static Matte? Cut(Image<Rgb24> photo, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(photo);
        int width = photo.Width, height = photo.Height;
        if (width < 3 || height < 3) return null;
        var pixels = new Rgb24[width * height];
        photo.CopyPixelDataTo(pixels);

        var border = BorderIndices(width, height).ToArray();
        var background = MedianColour(border.Select(i => pixels[i]));
        var limit = tolerance * tolerance;
        bool IsBackground(int i) => Distance2(pixels[i], background) <= limit;
        if (border.Count(IsBackground) < PlainBorderShare * border.Length) return null;

        // Breadth-first flood fill from every background pixel of the border, 4-connected.
        var reached = new bool[pixels.Length];
        var queue = new Queue<int>();
        foreach (var i in border)
        {
            if (!reached[i] && IsBackground(i))
            {
                reached[i] = true;
                queue.Enqueue(i);
            }
        }
        var backgroundCount = 0;
        while (queue.TryDequeue(out var i))
        {
            backgroundCount++;
            int x = i % width, y = i / width;
            if (x > 0) Visit(i - 1);
            if (x < width - 1) Visit(i + 1);
            if (y > 0) Visit(i - width);
            if (y < height - 1) Visit(i + width);
        }

        var share = 1 - (double)backgroundCount / pixels.Length;
        // Under half a percent is noise on a blank sheet; over 98 % means the fill found no real edge.
        if (share < 0.005 || share > 0.98) return null;
        var alpha = new Image<L8>(width, height);
        alpha.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < width; x++) row[x] = new L8(reached[y * width + x] ? (byte)0 : (byte)255);
            }
        });
        return new Matte(alpha, background, share);

        void Visit(int j)
        {
            if (reached[j] || !IsBackground(j)) return;
            reached[j] = true;
            queue.Enqueue(j);
        }
    }

    /// <summary>True when every pixel is grey (R = G = B within a few levels): a grey-scale photo, whose product colour is unknown.</summary>
    public static bool IsGreyscale(Image<Rgb24> photo)
    {
        var grey = true;
        photo.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height && grey; y++)
            {
                foreach (var p in rows.GetRowSpan(y))
                {
                    if (Math.Abs(p.R - p.G) > 6 || Math.Abs(p.G - p.B) > 6)
                    {
                        grey = false;
                        break;
                    }
                }
            }
        });
        return grey;
    }

    private static IEnumerable<int> BorderIndices(int width, int height)
    {
        for (var x = 0; x < width; x++)
        {
            yield return x;
            yield return (height - 1) * width + x;
        }
        for (var y = 1; y < height - 1; y++)
        {
            yield return y * width;
            yield return y * width + width - 1;
        }
    }

    private static Rgb24 MedianColour(IEnumerable<Rgb24> colours)
    {
        var list = colours.ToList();
        static byte Median(IEnumerable<byte> values)
        {
            var sorted = values.Order().ToArray();
            return sorted[sorted.Length / 2];
        }
        return new Rgb24(Median(list.Select(c => c.R)), Median(list.Select(c => c.G)), Median(list.Select(c => c.B)));
    }

    private static double Distance2(Rgb24 a, Rgb24 b)
    {
        double dr = a.R - b.R, dg = a.G - b.G, db = a.B - b.B;
        return dr * dr + dg * dg + db * db;
    }
}
