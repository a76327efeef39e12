using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Benchmarks;

/// <summary>
/// A small catalogue folder tree of PNGs made on the spot, so the benchmark needs no download: each
/// class a folder, each image a noisy background with a class-coloured block at a random place.
/// Speed, not learnability, is what it is for; still, classes differ so the loss moves.
/// </summary>
public static class SyntheticCatalogue
{
    public static string Write(string root, int classes, int imagesPerClass, int size, int seed = 5)
    {
        var random = new Random(seed);
        for (var c = 0; c < classes; c++)
        {
            var folder = Path.Combine(root, $"Group{c % 3}", $"Class{c}");
            Directory.CreateDirectory(folder);
            var colour = new Rgb24((byte)(40 + 53 * c % 200), (byte)(200 - 37 * c % 180), (byte)(90 + 71 * c % 160));
            for (var i = 0; i < imagesPerClass; i++)
            {
                using var image = new Image<Rgb24>(size, size);
                var (bx, by) = (random.Next(size / 2), random.Next(size / 2));
                var side = size / 3 + random.Next(size / 6);
                image.ProcessPixelRows(rows =>
                {
                    for (var y = 0; y < size; y++)
                    {
                        var row = rows.GetRowSpan(y);
                        for (var x = 0; x < size; x++)
                        {
                            var inside = x >= bx && x < bx + side && y >= by && y < by + side;
                            var noise = (byte)random.Next(60);
                            row[x] = inside ? colour : new Rgb24((byte)(100 + noise), (byte)(100 + noise), (byte)(110 + noise));
                        }
                    }
                });
                image.SaveAsPng(Path.Combine(folder, $"img{i:D5}.png"));
            }
        }
        return root;
    }
}
