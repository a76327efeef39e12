using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

public enum BackboneKind
{
    ResNet18,
    Vgg16,
}

/// <summary>
/// A convolutional trunk that turns a normalised image batch [B,3,H,W] into the feature map the
/// CAM head reads, [B, FeatureChannels, H/FeatureStride, W/FeatureStride].
/// </summary>
public abstract class Backbone : nn.Module<Tensor, Tensor>
{
    protected Backbone(string name) : base(name) { }

    public abstract BackboneKind Kind { get; }

    /// <summary>Channels of the feature map handed to the head.</summary>
    public abstract int FeatureChannels { get; }

    /// <summary>Input pixels per feature-map cell (16 gives 14×14 at 224²).</summary>
    public abstract int FeatureStride { get; }

    /// <summary>How images must be normalised before this trunk sees them.</summary>
    public abstract PreprocessingSpec Preprocessing { get; }

    /// <summary>
    /// Freezes the earliest layers (stem and first stage) so fine-tuning spends its compute where
    /// it matters; frozen BatchNorm layers keep their stored statistics.
    /// </summary>
    public virtual void FreezeEarlyLayers() { }

    /// <summary>Keeps every BatchNorm layer's stored statistics through training (a trunk without BatchNorm has none).</summary>
    public virtual void FreezeBatchNormStatistics() { }

    /// <summary>True once BatchNorm layers are folded into their convolutions; such a trunk only serves.</summary>
    public virtual bool BatchNormFolded => false;

    /// <summary>
    /// For a copy that only serves predictions: folds each BatchNorm into the convolution before it
    /// (a trunk without BatchNorm, like VGG16, has nothing to fold).
    /// </summary>
    public virtual void FoldBatchNorm() { }
}
