using System.Diagnostics;
using static TorchSharp.torch;

namespace RetailCam.Benchmarks;

/// <summary>
/// This machine's practical fp32 peak, as libtorch reaches it: the best of a few large square
/// matrix products (no memory-bound work, the most favourable case for the BLAS).
/// </summary>
public static class PeakFlops
{
    /// <param name="dtype">float32, or bfloat16 for the peak a bf16 network is held against.</param>
    public static double MeasureGflops(int n = 2048, int runs = 5, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var a = randn(n, n).to_type(dtype);
        var b = randn(n, n).to_type(dtype);
        matmul(a, b); // warm-up: first call allocates and picks kernels
        var best = double.MaxValue;
        for (var i = 0; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var product = matmul(a, b);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return BenchArithmetic.MatMulGflops(n, best);
    }
}
