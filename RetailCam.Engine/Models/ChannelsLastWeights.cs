using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>
/// Stores every convolution weight of a module channels-last (OHWI strides behind the OIHW shape).
/// With channels-last input libtorch brings the weight to the input's layout on every call when it is
/// not already there: a copy of all the weights per forward pass, the fixed cost that made batch 1
/// slow (≈ 10 ms for ResNet18 on this kind of machine, see docs/BENCHMARKS.md). Converted once, the
/// copy is gone. For copies that only serve: the weights are replaced by detached tensors.
/// </summary>
public static class ChannelsLastWeights
{
    public static void Apply(nn.Module module)
    {
        using var noGrad = no_grad();
        foreach (var conv in module.modules().OfType<Conv2d>())
        {
            var weight = conv.weight!;
            var requiresGrad = weight.requires_grad;
            conv.weight = new Parameter(TensorLayout.ToChannelsLast(weight).detach(), requires_grad: requiresGrad);
        }
    }

    /// <summary>True when every convolution weight of the module is stored channels-last.</summary>
    public static bool AreApplied(nn.Module module) =>
        module.modules().OfType<Conv2d>().All(c => c.weight!.shape[1] == 1 || TensorLayout.IsChannelsLast(c.weight));
}
