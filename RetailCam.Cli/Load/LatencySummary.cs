namespace RetailCam.Cli.Load;

/// <summary>
/// Latency percentiles in milliseconds by the nearest-rank method, from every sample: each figure is
/// a latency some request actually had (no interpolation, no histogram buckets), so p99 of a short run
/// is an honest worst-but-one-percent.
/// </summary>
internal sealed record LatencySummary(double P50, double P95, double P99, double Max)
{
    /// <summary>The summary of the samples (milliseconds), or null when there are none.</summary>
    public static LatencySummary? Of(IEnumerable<double> milliseconds)
    {
        var sorted = milliseconds.Order().ToArray();
        if (sorted.Length == 0) return null;
        return new LatencySummary(Round(NearestRank(sorted, 50)), Round(NearestRank(sorted, 95)), Round(NearestRank(sorted, 99)), Round(sorted[^1]));
    }

    /// <summary>
    /// The smallest sample with at least <paramref name="percent"/> % of all samples at or below it:
    /// the one at rank ⌈p·n/100⌉ (1-based) of the sorted samples.
    /// </summary>
    public static double NearestRank(IReadOnlyList<double> sorted, int percent)
    {
        if (sorted.Count == 0) throw new ArgumentException("no samples", nameof(sorted));
        if (percent is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(percent), percent, "a percentile lies in 1–100");
        // p·n is a whole number, so the division is exact where it should be: p95 of 20 samples is rank 19, not 20.
        var rank = (int)Math.Ceiling(percent * (long)sorted.Count / 100.0);
        return sorted[Math.Max(rank, 1) - 1];
    }

    private static double Round(double milliseconds) => Math.Round(milliseconds, 2);
}
