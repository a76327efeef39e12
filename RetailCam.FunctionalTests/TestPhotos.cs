using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.FunctionalTests;

/// <summary>Files the browser and REST tests upload: a real photo-like PNG, and the bad inputs of the data issue.</summary>
public static class TestPhotos
{
    public static string Folder { get; } = Directory.CreateTempSubdirectory("retailcam-photos-").FullName;

    public static string Good(string name = "shirt.png", int seed = 1)
    {
        var path = Path.Combine(Folder, name);
        var random = new Random(seed);
        using var image = new Image<Rgb24>(160, 120);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                {
                    var inside = x is > 50 and < 110 && y is > 30 and < 95;
                    row[x] = inside ? new Rgb24(200, (byte)(40 + random.Next(20)), 60) : new Rgb24((byte)(x + 40), (byte)(y + 60), 150);
                }
            }
        });
        image.SaveAsPng(path);
        return path;
    }

    public static string NotAnImage()
    {
        var path = Path.Combine(Folder, "notes.jpg");
        File.WriteAllText(path, "this is a text file with a photo's name");
        return path;
    }

    public static string TruncatedPng()
    {
        var bytes = File.ReadAllBytes(Good("whole.png", 5));
        var path = Path.Combine(Folder, "truncated.png");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 3)]);
        return path;
    }

    public static string Empty()
    {
        var path = Path.Combine(Folder, "empty.png");
        File.WriteAllBytes(path, []);
        return path;
    }
}
