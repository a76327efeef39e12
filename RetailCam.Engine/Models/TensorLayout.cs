using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>
/// Channels-last (NHWC strides behind an NCHW shape). TorchSharp 0.107 exposes no memory_format
/// argument, but libtorch picks its layout from the strides: a convolution whose input is
/// channels-last runs oneDNN's NHWC kernels and hands channels-last on to the next layer.
/// </summary>
public static class TensorLayout
{
    public static Tensor ToChannelsLast(Tensor nchw) => nchw.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    public static bool IsChannelsLast(Tensor t) => t.dim() == 4 && t.stride(1) == 1 && t.shape[1] > 1;
}
