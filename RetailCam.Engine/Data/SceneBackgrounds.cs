using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RetailCam.Engine.Data;

public enum SceneBackgroundKind
{
    Solid,
    Gradient,
    Blotches,
    Noise,
    Stripes,
    Checker,
    Clutter,
}

/// <summary>
/// Varied backgrounds for shop scenes. Models trained on one kind of background learn the
/// background; the prototype lost ~15 points of scene accuracy on unseen kinds, so the kinds here
/// span flat, smooth, textured and busy. Deterministic for a given <see cref="Random"/>.
/// </summary>
public static class SceneBackgrounds
{
    public static Image<Rgb24> Create(int width, int height, Random random)
    {
        var kinds = Enum.GetValues<SceneBackgroundKind>();
        return Create(width, height, kinds[random.Next(kinds.Length)], random);
    }

    public static Image<Rgb24> Create(int width, int height, SceneBackgroundKind kind, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var a = RandomColour(random);
        var b = RandomColour(random);
        switch (kind)
        {
            case SceneBackgroundKind.Solid:
                return new Image<Rgb24>(width, height, a);
            case SceneBackgroundKind.Gradient:
            {
                var angle = random.NextDouble() * Math.PI * 2;
                var (dx, dy) = (Math.Cos(angle), Math.Sin(angle));
                var span = Math.Abs(dx) * width + Math.Abs(dy) * height;
                return Generate(width, height, (x, y) => Mix(a, b, ((x - width / 2.0) * dx + (y - height / 2.0) * dy) / span + 0.5));
            }
            case SceneBackgroundKind.Blotches:
            {
                // A few random colours on a coarse grid, smoothed by upsampling: soft, cloth-like.
                var cells = random.Next(2, 7);
                using var coarse = new Image<Rgb24>(cells, cells);
                for (var y = 0; y < cells; y++)
                    for (var x = 0; x < cells; x++)
                        coarse[x, y] = Mix(a, b, random.NextDouble());
                return coarse.Clone(x => x.Resize(width, height, KnownResamplers.Bicubic));
            }
            case SceneBackgroundKind.Noise:
            {
                var amplitude = random.Next(10, 60);
                var seed = random.Next();
                var noise = new Random(seed);
                return Generate(width, height, (_, _) => Jitter(a, noise.Next(-amplitude, amplitude + 1)));
            }
            case SceneBackgroundKind.Stripes:
            {
                var period = random.Next(6, 40);
                var vertical = random.Next(2) == 0;
                return Generate(width, height, (x, y) => ((vertical ? x : y) / period) % 2 == 0 ? a : b);
            }
            case SceneBackgroundKind.Checker:
            {
                var cell = random.Next(8, 48);
                return Generate(width, height, (x, y) => ((x / cell) + (y / cell)) % 2 == 0 ? a : b);
            }
            case SceneBackgroundKind.Clutter:
            {
                var image = Create(width, height, SceneBackgroundKind.Gradient, random);
                var shapes = random.Next(6, 25);
                for (var i = 0; i < shapes; i++)
                {
                    var w = random.Next(4, Math.Max(5, width / 3));
                    var h = random.Next(4, Math.Max(5, height / 3));
                    using var patch = new Image<Rgb24>(w, h, RandomColour(random));
                    var opacity = (float)(0.3 + 0.7 * random.NextDouble());
                    image.Mutate(x => x.DrawImage(patch, new Point(random.Next(-w / 2, width - w / 2), random.Next(-h / 2, height - h / 2)), opacity));
                }
                return image;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown background kind.");
        }
    }

    public static Rgb24 RandomColour(Random random) => new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));

    private static Image<Rgb24> Generate(int width, int height, Func<int, int, Rgb24> colourAt)
    {
        var image = new Image<Rgb24>(width, height);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++)
                    row[x] = colourAt(x, y);
            }
        });
        return image;
    }

    private static Rgb24 Mix(Rgb24 a, Rgb24 b, double t)
    {
        t = Math.Clamp(t, 0, 1);
        return new Rgb24((byte)(a.R + (b.R - a.R) * t), (byte)(a.G + (b.G - a.G) * t), (byte)(a.B + (b.B - a.B) * t));
    }

    private static Rgb24 Jitter(Rgb24 c, int delta) =>
        new((byte)Math.Clamp(c.R + delta, 0, 255), (byte)Math.Clamp(c.G + delta, 0, 255), (byte)Math.Clamp(c.B + delta, 0, 255));
}
