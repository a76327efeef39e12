using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Engine.Data;

public sealed record OutOfCatalogueResult(string Folder, IReadOnlyDictionary<string, int> Counts, int Images);

/// <summary>
/// Photos that are none of a catalogue's categories, to measure "not one of your categories": noise,
/// blank sheets, textures (drawn by their own rule, not the training scenes' backgrounds) and, given
/// the clip-art package, pictures from topics none of the demo departments holds, as pack-shots.
/// </summary>
public static class OutOfCatalogueSet
{
    /// <summary>Clip-art topics that no default department draws from.</summary>
    public static IReadOnlyList<string> OtherTopics { get; } = ["buildings", "people", "plants"];

    public const int SyntheticPerKind = 20;
    public const int PicturesPerTopic = 40;

    private static readonly PngEncoder Png = new() { CompressionLevel = PngCompressionLevel.BestSpeed, ColorType = PngColorType.Rgb };

    public static OutOfCatalogueResult Build(string outputDirectory, string? clipArtRoot, int seed)
    {
        var random = new Random(seed);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        void Write(string kind, int index, Image<Rgb24> image)
        {
            using (image)
            {
                var path = Path.Combine(outputDirectory, kind, $"{kind}-{index:D3}.png");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                DemoDataWriter.SaveAtomically(image, path, Png);
            }
            counts[kind] = counts.GetValueOrDefault(kind) + 1;
        }
        for (var i = 0; i < SyntheticPerKind; i++)
        {
            Write("noise", i, Noise(256, random));
            Write("blank", i, new Image<Rgb24>(256, 256, new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256))));
            Write("texture", i, Texture(256, random));
        }
        if (clipArtRoot is not null && Directory.Exists(clipArtRoot))
        {
            foreach (var topic in OtherTopics)
            {
                var folder = Path.Combine(clipArtRoot, topic);
                if (!Directory.Exists(folder)) continue;
                var index = 0;
                foreach (var file in Directory.EnumerateFiles(folder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    if (index >= PicturesPerTopic) break;
                    try
                    {
                        using var cutout = ClipArtDemo.LoadCutout(file, out _);
                        Write("other-topic", counts.GetValueOrDefault("other-topic"), ClipArtDemo.PackShot(cutout));
                        index++;
                    }
                    catch (Exception ex) when (ex is ImageFormatException or DemoDataException or IOException)
                    {
                        // A picture that cannot be read is simply not in the set.
                    }
                }
            }
        }
        return new OutOfCatalogueResult(outputDirectory, counts, counts.Values.Sum());
    }

    private static Image<Rgb24> Noise(int side, Random random)
    {
        var image = new Image<Rgb24>(side, side);
        var bytes = new byte[side * side * 3];
        random.NextBytes(bytes);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < side; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < side; x++)
                {
                    var i = (y * side + x) * 3;
                    row[x] = new Rgb24(bytes[i], bytes[i + 1], bytes[i + 2]);
                }
            }
        });
        return image;
    }

    /// <summary>A sum of a few random plane waves per channel: wood, fabric and marble-like patterns.</summary>
    private static Image<Rgb24> Texture(int side, Random random)
    {
        var waves = Enumerable.Range(0, 9).Select(_ => (Fx: random.NextDouble() * 0.2, Fy: random.NextDouble() * 0.2, Phase: random.NextDouble() * Math.Tau)).ToArray();
        var image = new Image<Rgb24>(side, side);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < side; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < side; x++)
                {
                    byte Channel(int c)
                    {
                        double v = 0;
                        for (var k = 0; k < 3; k++)
                        {
                            var w = waves[c * 3 + k];
                            v += Math.Sin(w.Fx * x + w.Fy * y + w.Phase);
                        }
                        return (byte)Math.Clamp(128 + 40 * v, 0, 255);
                    }
                    row[x] = new Rgb24(Channel(0), Channel(1), Channel(2));
                }
            }
        });
        return image;
    }
}
