using static TorchSharp.torch;

namespace RetailCam.Engine.Cam;

/// <summary>
/// Class Activation Mapping — Zhou, Khosla, Lapedriza, Oliva, Torralba, "Learning Deep Features for
/// Discriminative Localization", CVPR 2016. The weights are the head's linear weights of the class:
/// no gradients, one forward pass.
/// </summary>
public sealed class CamMethod : ClassMapMethod
{
    public override string Name => "cam";
    public override string Label => "CAM";

    protected override Tensor ChannelWeights(ClassMapStep step) => step.ClassWeights.alias();
}
