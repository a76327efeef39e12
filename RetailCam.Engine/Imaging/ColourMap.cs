using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Engine.Imaging;

/// <summary>A 256-entry lookup table from a value in [0,1] to an RGB colour.</summary>
public sealed class ColourMap
{
    public const int Entries = 256;

    private readonly Rgb24[] table;

    public string Name { get; }

    private ColourMap(string name, Func<double, (double R, double G, double B)> curve)
    {
        Name = name;
        table = new Rgb24[Entries];
        for (var i = 0; i < Entries; i++)
        {
            var (r, g, b) = curve(i / (double)(Entries - 1));
            table[i] = new Rgb24(ToByte(r), ToByte(g), ToByte(b));
        }
    }

    public IReadOnlyList<Rgb24> Table => table;

    public Rgb24 this[int index] => table[index];

    /// <summary>Colour of a value in [0,1]; values outside are clamped, NaN maps to 0.</summary>
    public Rgb24 Map(float value) => table[Index(value)];

    public static int Index(float value) =>
        float.IsNaN(value) ? 0 : (int)MathF.Round(Math.Clamp(value, 0f, 1f) * (Entries - 1));

    /// <summary>MATLAB/matplotlib jet: the classic CAM look, kept for comparison with papers.</summary>
    public static ColourMap Jet { get; } = new("jet", t => (
        Piecewise(t, (0, 0), (0.35, 0), (0.66, 1), (0.89, 1), (1, 0.5)),
        Piecewise(t, (0, 0), (0.125, 0), (0.375, 1), (0.64, 1), (0.91, 0), (1, 0)),
        Piecewise(t, (0, 0.5), (0.11, 1), (0.34, 1), (0.65, 0), (1, 0))));

    /// <summary>
    /// Google's Turbo (Mikhailov 2019) via its published degree-5 polynomial approximation:
    /// jet's look without its false bands.
    /// </summary>
    public static ColourMap Turbo { get; } = new("turbo", t => (
        Polynomial(t, 0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943),
        Polynomial(t, 0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604),
        Polynomial(t, 0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973)));

    /// <summary>
    /// matplotlib's viridis (perceptually uniform, readable in grey and by colour-blind users),
    /// via Matt Zucker's degree-6 polynomial fit (within about 1 % of the reference table).
    /// </summary>
    public static ColourMap Viridis { get; } = new("viridis", t => (
        Polynomial(t, 0.2777273272234177, 0.1050930431085774, -0.3308618287255563, -4.634230498983486, 6.228269936347081, 4.776384997670288, -5.435455855934631),
        Polynomial(t, 0.005407344544966578, 1.404613529898575, 0.214847559468213, -5.799100973351585, 14.17993336680509, -13.74514537774601, 4.645852612178535),
        Polynomial(t, 0.3340998053353061, 1.384590162594685, 0.09509516302823659, -19.33244095627987, 56.69055260068105, -65.35303263337234, 26.3124352495832)));

    public static IReadOnlyList<ColourMap> All { get; } = [Jet, Turbo, Viridis];

    /// <summary>Looks a map up by name (case-insensitive): jet, turbo, viridis.</summary>
    public static ColourMap FromName(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown colour map '{name}'; use one of {string.Join(", ", All.Select(m => m.Name))}.", nameof(name));

    public override string ToString() => Name;

    private static byte ToByte(double unit) => (byte)Math.Round(Math.Clamp(unit, 0, 1) * 255);

    private static double Polynomial(double t, params double[] coefficients)
    {
        var value = 0.0;
        for (var i = coefficients.Length - 1; i >= 0; i--)
            value = value * t + coefficients[i];
        return value;
    }

    private static double Piecewise(double t, params (double At, double Value)[] knots)
    {
        for (var i = 1; i < knots.Length; i++)
        {
            if (t <= knots[i].At)
            {
                var (a, va) = knots[i - 1];
                var (b, vb) = knots[i];
                return va + (vb - va) * (t - a) / (b - a);
            }
        }
        return knots[^1].Value;
    }
}
