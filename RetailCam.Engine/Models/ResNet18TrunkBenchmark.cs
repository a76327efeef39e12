using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>Forward throughput of one network in a <see cref="ResNet18TrunkBenchmark"/> run.</summary>
public sealed record TrunkThroughput(string Name, double ImagesPerSecond, long[] OutputShape);

/// <summary>
/// Measures forward images/s of several trunks side by side under no_grad: after a warm-up, rounds
/// alternate between the networks so that the drift of a shared, noisy machine hits all of them alike.
/// </summary>
public static class ResNet18TrunkBenchmark
{
    public static IReadOnlyList<TrunkThroughput> Measure(
        IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Network)> networks,
        int batchSize = 16, int imageSize = 224, int warmUpBatches = 3, int rounds = 5, int batchesPerRound = 3)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var input = randn(batchSize, 3, imageSize, imageSize) * 60f;
        var shapes = new long[networks.Count][];
        var seconds = new double[networks.Count];
        for (var n = 0; n < networks.Count; n++)
        {
            networks[n].Network.eval();
            for (var i = 0; i < warmUpBatches; i++)
            {
                using var inner = NewDisposeScope();
                shapes[n] = networks[n].Network.call(input).shape;
            }
        }
        for (var round = 0; round < rounds; round++)
        {
            for (var n = 0; n < networks.Count; n++)
            {
                var start = Stopwatch.GetTimestamp();
                for (var i = 0; i < batchesPerRound; i++)
                {
                    using var inner = NewDisposeScope();
                    networks[n].Network.call(input);
                }
                seconds[n] += Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }
        var images = (double)batchSize * rounds * batchesPerRound;
        return networks.Select((entry, n) => new TrunkThroughput(entry.Name, images / seconds[n], shapes[n])).ToList();
    }
}
