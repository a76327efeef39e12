using RetailCam.Engine.Models;
using static TorchSharp.torch;

namespace RetailCam.Engine.Cam;

/// <summary>
/// Class Activation Mapping — Zhou, Khosla, Lapedriza, Oliva, Torralba, "Learning Deep Features for
/// Discriminative Localization", CVPR 2016. The weights are the head's linear weights of the class:
/// no gradients, one forward pass.
/// </summary>
public sealed class CamMethod : ClassMapMethod
{
    public override ClassMapKind Kind => ClassMapKind.Cam;
    protected override bool NeedsGradients => false;

    protected override Tensor ChannelWeights(CamNetwork network, Tensor activations, Tensor? gradients, ClassTarget target)
    {
        using var index = tensor(target.ClassIndices, device: activations.device);
        return network.Head.ClassWeights.detach().index_select(0, index);
    }
}
