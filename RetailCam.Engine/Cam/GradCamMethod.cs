using static TorchSharp.torch;

namespace RetailCam.Engine.Cam;

/// <summary>
/// Grad-CAM — Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
/// Localization", ICCV 2017. Weights are the spatial mean of ∂score/∂A. With a GAP + linear head this
/// is W_c / (h·w): the same map as CAM after normalisation.
/// </summary>
public sealed class GradCamMethod : ClassMapMethod
{
    public override string Name => "gradcam";
    public override string Label => "Grad-CAM";
    protected override bool NeedsGradients => true;

    /// <summary>Exposed so tests can check the identity with the head's weights.</summary>
    public static Tensor WeightsFromGradients(Tensor gradients) => gradients.mean([2, 3]);

    protected override Tensor ChannelWeights(ClassMapStep step) => WeightsFromGradients(step.Gradients!);
}
