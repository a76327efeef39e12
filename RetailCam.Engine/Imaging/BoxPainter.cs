using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Engine.Imaging;

/// <summary>Rectangles drawn into an image in place (ImageSharp.Drawing is not available to us).</summary>
public static class BoxPainter
{
    public static void Draw(Image<Rgb24> image, PixelBox box, Rgb24 colour, int thickness = 2)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(thickness, 1);
        var x0 = Math.Clamp(box.XMin, 0, image.Width - 1);
        var x1 = Math.Clamp(box.XMax - 1, 0, image.Width - 1);
        var y0 = Math.Clamp(box.YMin, 0, image.Height - 1);
        var y1 = Math.Clamp(box.YMax - 1, 0, image.Height - 1);
        if (x1 < x0 || y1 < y0) return;
        image.ProcessPixelRows(rows =>
        {
            for (var y = y0; y <= y1; y++)
            {
                var row = rows.GetRowSpan(y);
                var edgeRow = y - y0 < thickness || y1 - y < thickness;
                if (edgeRow)
                {
                    row[x0..(x1 + 1)].Fill(colour);
                    continue;
                }
                row[x0..Math.Min(x0 + thickness, x1 + 1)].Fill(colour);
                row[Math.Max(x1 + 1 - thickness, x0)..(x1 + 1)].Fill(colour);
            }
        });
    }
}
