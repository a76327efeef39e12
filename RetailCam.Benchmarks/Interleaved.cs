using System.Diagnostics;

namespace RetailCam.Benchmarks;

/// <summary>What one round of a contender did: images processed and the seconds they took.</summary>
public readonly record struct RoundResult(long Images, double Seconds);

/// <summary>
/// One party of a side-by-side measurement. A round either times itself (when only part of it is the
/// work being compared, e.g. a training run's steady state without its set-up) or is timed whole.
/// </summary>
public sealed record Contender(string Name, Func<RoundResult> Round)
{
    public static Contender Timed(string name, Func<long> round) => new(name, () =>
    {
        var start = Stopwatch.GetTimestamp();
        var images = round();
        return new RoundResult(images, Stopwatch.GetElapsedTime(start).TotalSeconds);
    });
}

/// <summary>
/// Runs contenders in alternating rounds (A B C, C B A, …) after warm-up rounds, so that the drift of a
/// shared, noisy machine falls on all of them alike, and returns images/s per contender: all images
/// over all timed seconds.
/// </summary>
public static class Interleaved
{
    public static IReadOnlyDictionary<string, double> Measure(IReadOnlyList<Contender> contenders, int rounds, int warmUpRounds = 1, Action<string>? log = null) =>
        MeasureRounds(contenders, rounds, warmUpRounds, log).Rates;

    /// <summary>As <see cref="Measure"/>, also keeping each round's rates for <see cref="InterleavedResult.MedianRatio"/>.</summary>
    public static InterleavedResult MeasureRounds(IReadOnlyList<Contender> contenders, int rounds, int warmUpRounds = 1, Action<string>? log = null)
    {
        var perRound = new List<IReadOnlyDictionary<string, double>>();
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        foreach (var c in contenders)
            for (var i = 0; i < warmUpRounds; i++) c.Round();
        var images = new long[contenders.Count];
        var seconds = new double[contenders.Count];
        for (var r = 0; r < rounds; r++)
        {
            // Reverse every other round, so that no contender always runs right after the same other one.
            var order = r % 2 == 0 ? Enumerable.Range(0, contenders.Count) : Enumerable.Range(0, contenders.Count).Reverse();
            var thisRound = new Dictionary<string, double>();
            foreach (var n in order)
            {
                var result = contenders[n].Round();
                images[n] += result.Images;
                seconds[n] += result.Seconds;
                thisRound[contenders[n].Name] = result.Images / result.Seconds;
            }
            perRound.Add(thisRound);
            log?.Invoke($"round {r + 1}/{rounds}: " + string.Join(", ", contenders.Select((c, n) => $"{c.Name} {images[n] / seconds[n]:F1} img/s")));
        }
        return new InterleavedResult(contenders.Select((c, n) => (c.Name, Rate: images[n] / seconds[n])).ToDictionary(x => x.Name, x => x.Rate), perRound);
    }
}

/// <param name="Rates">All images over all timed seconds, per contender.</param>
/// <param name="PerRound">Each round's images/s per contender.</param>
public sealed record InterleavedResult(IReadOnlyDictionary<string, double> Rates, IReadOnlyList<IReadOnlyDictionary<string, double>> PerRound)
{
    /// <summary>
    /// The median over rounds of ours / reference within the same round: a burst of a neighbour's load
    /// that slows one round spoils one ratio, not the total of one contender.
    /// </summary>
    public double MedianRatio(string ours, string reference) =>
        BenchArithmetic.Median(PerRound.Select(r => BenchArithmetic.Ratio(r[ours], r[reference])).ToList());
}
