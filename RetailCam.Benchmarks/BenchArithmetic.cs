namespace RetailCam.Benchmarks;

/// <summary>
/// The arithmetic behind the benchmark's figures, apart from any measuring so it can be tested:
/// every figure is a ratio of two rates measured side by side, or a percentage derived from one.
/// </summary>
public static class BenchArithmetic
{
    /// <summary>ResNet18 forward at 224²: 1.82 GMAC, two FLOPs per multiply-accumulate.</summary>
    public const double ResNet18GflopPerImage224 = 3.64;

    /// <summary>ours / reference; NaN when either rate is missing, so a broken contender never looks like a win.</summary>
    public static double Ratio(double ours, double reference) =>
        ours > 0 && reference > 0 && double.IsFinite(ours) && double.IsFinite(reference) ? ours / reference : double.NaN;

    /// <summary>GFLOP/s of a network costing <paramref name="gflopPerImage"/> per image at the given images/s.</summary>
    public static double Gflops(double imagesPerSecond, double gflopPerImage = ResNet18GflopPerImage224) => imagesPerSecond * gflopPerImage;

    /// <summary>GFLOP/s of one n × n by n × n matrix product (2n³ FLOPs) taking <paramref name="seconds"/>.</summary>
    public static double MatMulGflops(int n, double seconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        return 2.0 * n * n * n / seconds / 1e9;
    }

    /// <summary>
    /// Achieved over peak, clamped to [0, 1]: the peak is measured in the same run and a network can
    /// momentarily beat a square matmul on a noisy machine; a figure above 1 would only report that noise.
    /// </summary>
    public static double Utilisation(double achievedGflops, double peakGflops) =>
        peakGflops > 0 ? Math.Clamp(achievedGflops / peakGflops, 0, 1) : double.NaN;

    /// <summary>Growth from <paramref name="before"/> to <paramref name="after"/>, in percent of before.</summary>
    public static double GrowthPct(double before, double after) => before > 0 ? (after - before) / before * 100 : double.NaN;

    /// <summary>
    /// The extra time a feature costs, in percent of the time without it, from the two throughputs:
    /// time per image goes as 1 / rate, so overhead = without / with − 1. Negative means no measurable cost.
    /// </summary>
    public static double OverheadPct(double imagesPerSecondWith, double imagesPerSecondWithout) =>
        imagesPerSecondWith > 0 && imagesPerSecondWithout > 0 ? (imagesPerSecondWithout / imagesPerSecondWith - 1) * 100 : double.NaN;

    /// <summary>
    /// The overhead of work timed directly inside a window: its time over the rest of the window, in
    /// percent (what removing it would save, relative to the time without it).
    /// </summary>
    public static double ShareOverheadPct(double featureSeconds, double windowSeconds) =>
        windowSeconds > featureSeconds && featureSeconds >= 0 ? featureSeconds / (windowSeconds - featureSeconds) * 100 : double.NaN;

    /// <summary>The lowest, median and highest of per-round ratios: one figure with how far the rounds spread around it.</summary>
    public static RatioSpread Spread(IReadOnlyList<double> ratios)
    {
        var finite = ratios.Where(double.IsFinite).ToList();
        return finite.Count == 0 ? new RatioSpread(double.NaN, double.NaN, double.NaN, 0) : new RatioSpread(finite.Min(), Median(finite), finite.Max(), finite.Count);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("No values.", nameof(values));
        var sorted = values.OrderBy(v => v).ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>A ratio measured in several rounds: its median, which the figure reports, and the lowest and highest round.</summary>
public sealed record RatioSpread(double Min, double Median, double Max, int Rounds);
