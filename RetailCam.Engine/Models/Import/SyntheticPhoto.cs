using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Import;

/// <summary>
/// A deterministic photo-like RGB image: a lit wall and a shelf-like floor, a few shaded objects,
/// soft shadows and mild sensor noise. Pure noise would be a weak parity input: after the first
/// BatchNorm it drives activations into ranges real images never reach, and it has no large
/// smooth regions where padding and pooling differences would show.
/// </summary>
public static class SyntheticPhoto
{
    /// <summary>[1,3,size,size] float RGB in 0–255.</summary>
    public static Tensor Create(int size = 224, int seed = 7)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 16);
        var random = new Random(seed);
        var pixels = new float[3 * size * size];
        var plane = size * size;
        var horizon = 0.62f + 0.1f * (float)random.NextDouble();

        // Objects: centre, half-size, colour, shape (0 box, 1 ellipse, 2 triangle).
        var shapes = Enumerable.Range(0, 5).Select(_ => (
            cx: 0.15f + 0.7f * (float)random.NextDouble(),
            cy: 0.35f + 0.45f * (float)random.NextDouble(),
            rx: 0.06f + 0.12f * (float)random.NextDouble(),
            ry: 0.06f + 0.14f * (float)random.NextDouble(),
            color: new[] { 40f + 200f * (float)random.NextDouble(), 40f + 200f * (float)random.NextDouble(), 40f + 200f * (float)random.NextDouble() },
            kind: random.Next(3))).ToArray();

        for (var y = 0; y < size; y++)
        {
            var v = (y + 0.5f) / size;
            for (var x = 0; x < size; x++)
            {
                var u = (x + 0.5f) / size;
                float r, g, b;
                if (v < horizon)
                {
                    // Wall: warm light from the upper left fading to a cool corner.
                    var light = 1f - 0.45f * MathF.Sqrt(u * u + v * v) / 1.4f;
                    r = 215f * light; g = 200f * light; b = 180f * light + 25f * u;
                }
                else
                {
                    // Floor: darker, with wide planks.
                    var plank = 0.9f + 0.1f * MathF.Sin(u * 40f + 3f * MathF.Floor(v * 12f));
                    var depth = 0.6f + 0.4f * (v - horizon) / (1f - horizon);
                    r = 150f * plank * depth; g = 110f * plank * depth; b = 75f * plank * depth;
                }

                foreach (var s in shapes)
                {
                    var dx = (u - s.cx) / s.rx;
                    var dy = (v - s.cy) / s.ry;
                    var inside = s.kind switch
                    {
                        0 => MathF.Abs(dx) <= 1f && MathF.Abs(dy) <= 1f,
                        1 => dx * dx + dy * dy <= 1f,
                        _ => dy >= -1f && dy <= 1f && MathF.Abs(dx) <= (dy + 1f) / 2f,
                    };
                    if (inside)
                    {
                        // Lit from the left: a gentle shading across each object.
                        var shade = 1.1f - 0.3f * (dx + 1f) / 2f - 0.1f * (dy + 1f) / 2f;
                        r = s.color[0] * shade; g = s.color[1] * shade; b = s.color[2] * shade;
                    }
                    else
                    {
                        var shadow = (dx - 0.3f) * (dx - 0.3f) + (dy - 1.2f) * (dy - 1.2f) * 4f;
                        if (shadow < 1f) { var k = 0.75f + 0.25f * shadow; r *= k; g *= k; b *= k; }
                    }
                }

                var i = y * size + x;
                pixels[i] = Clamp(r + Noise(random));
                pixels[plane + i] = Clamp(g + Noise(random));
                pixels[2 * plane + i] = Clamp(b + Noise(random));
            }
        }
        return tensor(pixels, [1, 3, size, size]);
    }

    private static float Noise(Random random) => 3f * (float)(random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5);

    private static float Clamp(float value) => MathF.Round(Math.Clamp(value, 0f, 255f));
}
