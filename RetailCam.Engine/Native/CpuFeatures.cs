namespace RetailCam.Engine.Native;

/// <summary>What the CPU can do, read once: the one place that looks at /proc/cpuinfo.</summary>
public static class CpuFeatures
{
    private static readonly Lazy<bool> NativeBf16 = new(() =>
    {
        try
        {
            var info = File.ReadAllText("/proc/cpuinfo");
            return info.Contains("avx512_bf16", StringComparison.Ordinal) || info.Contains("amx_bf16", StringComparison.Ordinal);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    });

    /// <summary>True where /proc/cpuinfo lists AVX512-BF16 or AMX-BF16 (false off Linux: bf16 must then be asked for).</summary>
    public static bool HasNativeBFloat16 => NativeBf16.Value;
}
