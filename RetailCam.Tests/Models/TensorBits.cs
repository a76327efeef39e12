using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

internal static class TensorBits
{
    /// <summary>Same dtype, shape and bytes: stricter than equality of values (tells -0 from 0, compares NaN payloads).</summary>
    public static bool Identical(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var left = a.detach().cpu().contiguous();
        using var right = b.detach().cpu().contiguous();
        return left.bytes.SequenceEqual(right.bytes);
    }
}
