using System.Diagnostics;
using static TorchSharp.torch;

namespace RetailCam.Benchmarks;

/// <summary>
/// This machine's practical fp32 peak, as libtorch reaches it: the best of a few large square
/// matrix products (no memory-bound work, the most favourable case for the BLAS).
/// </summary>
public static class PeakFlops
{
    /// <param name="device">Where the products run: the peak a network is held against is its own device's.</param>
    /// <param name="dtype">float32, or bfloat16 for the peak a bf16 network is held against.</param>
    public static double MeasureGflops(Device device, int n = 2048, int runs = 5, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (a, b) = Operands(n, dtype, device);
        matmul(a, b); // warm-up: first call allocates and picks kernels
        BenchDevice.Synchronize(device);
        var best = double.MaxValue;
        for (var i = 0; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var product = matmul(a, b);
            BenchDevice.Synchronize(device);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return BenchArithmetic.MatMulGflops(n, best);
    }

    /// <summary>The two random n×n factors, in <paramref name="dtype"/> on <paramref name="device"/>, in the caller's dispose scope.</summary>
    public static (Tensor A, Tensor B) Operands(int n, ScalarType dtype, Device device) =>
        (randn(n, n, device: device).to_type(dtype), randn(n, n, device: device).to_type(dtype));
}
