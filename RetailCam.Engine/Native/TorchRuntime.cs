using TorchSharp;

namespace RetailCam.Engine.Native;

public enum DeviceChoice
{
    Auto,
    Cpu,
    Cuda,
}

/// <summary>The device and thread count this process computes on, decided once from configuration.</summary>
public sealed record TorchEnvironment(torch.Device Device, int IntraOpThreads, string LibTorchVersion, NativeLoadReport NativeLoad)
{
    public string DeviceName => NameOf(Device);

    /// <summary>"cpu", "cuda:0", …: CUDA's unset index (-1) is the current device, which libtorch starts at 0.</summary>
    public static string NameOf(torch.Device device) => device.type switch
    {
        DeviceType.CUDA => $"cuda:{Math.Max(device.index, 0)}",
        DeviceType.CPU => "cpu",
        _ => device.type.ToString().ToLowerInvariant(),
    };

    public override string ToString() =>
        $"device {DeviceName}, {IntraOpThreads} intra-op threads, libtorch {LibTorchVersion}";
}

public static class TorchRuntime
{
    private static readonly Lock Gate = new();
    /// <summary>
    /// Patches the native library if needed, then picks the device and sets libtorch's intra-op
    /// thread count. threads ≤ 0 means one per core. Later calls may change the thread count; the
    /// host calls this once and hands the device it returns to everything that builds a tensor.
    /// </summary>
    public static TorchEnvironment Initialize(DeviceChoice choice, int threads)
    {
        lock (Gate)
        {
            var report = TorchNativeLoader.EnsureLoadable();
            var cudaAvailable = torch.cuda.is_available();
            var device = choice switch
            {
                DeviceChoice.Cpu => torch.CPU,
                DeviceChoice.Cuda when !cudaAvailable => throw new InvalidOperationException(
                    "Device 'cuda' was configured but libtorch reports no CUDA device. Use 'auto' or 'cpu', or build with -p:RetailCamTorchBackend=cuda on a machine with a GPU."),
                DeviceChoice.Cuda => torch.CUDA,
                _ => cudaAvailable ? torch.CUDA : torch.CPU,
            };
            var threadCount = threads > 0 ? threads : Environment.ProcessorCount;
            if (torch.get_num_threads() != threadCount)
                torch.set_num_threads(threadCount);
            return new TorchEnvironment(device, threadCount, torch.__version__, report);
        }
    }
}
