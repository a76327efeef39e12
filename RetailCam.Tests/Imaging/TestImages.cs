using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Imaging;

/// <summary>Tiny images made in memory, so tests never depend on files they did not write.</summary>
internal static class TestImages
{
    public static Image<Rgb24> Solid(int width, int height, byte r, byte g, byte b) => new(width, height, new Rgb24(r, g, b));

    /// <summary>Each pixel encodes its own position: R = x·16, G = y·16, B = 7.</summary>
    public static Image<Rgb24> Coordinates(int width, int height)
    {
        var image = new Image<Rgb24>(width, height);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                    row[x] = new Rgb24((byte)(x * 16), (byte)(y * 16), 7);
            }
        });
        return image;
    }

    public static byte[] Encode(Image image, IImageEncoder encoder)
    {
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }

    public static string TempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "retailcam-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
