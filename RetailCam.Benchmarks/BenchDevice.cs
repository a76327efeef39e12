using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Benchmarks;

public static class BenchDevice
{
    /// <summary>
    /// Waits for the work queued on <paramref name="device"/>: CUDA kernels run asynchronously, so a
    /// clock read without this times their launch, not their run. A no-op on the CPU, which runs eagerly.
    /// </summary>
    public static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize(device);
    }
}
