namespace RetailCam.Engine.Models;

/// <summary>
/// How an RGB image in 0–255 becomes the backbone's input. Stored in every model manifest.
/// x' = (x[channelOrder] * Scale − Mean) / Std, where Mean is per channel, or the per-pixel mean
/// image carried in the weights when <see cref="UsesMeanImage"/> is set (resized to the input size).
/// </summary>
public sealed record PreprocessingSpec(
    string ChannelOrder,
    float Scale,
    float[] Mean,
    float[] Std,
    bool UsesMeanImage)
{
    /// <summary>CNTK ImageNet ResNet18: BGR in 0–255 minus a per-pixel mean image, no division.</summary>
    public static PreprocessingSpec CntkBgrMeanImage(float[] channelMeansBgr) =>
        new("BGR", 1f, channelMeansBgr, [1f, 1f, 1f], UsesMeanImage: true);

    /// <summary>torchvision ImageNet: RGB scaled to 0–1, then mean/std per channel.</summary>
    public static PreprocessingSpec TorchvisionImageNet { get; } =
        new("RGB", 1f / 255f, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f], UsesMeanImage: false);
}
