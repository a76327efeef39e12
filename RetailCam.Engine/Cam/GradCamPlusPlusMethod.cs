using static TorchSharp.torch;

namespace RetailCam.Engine.Cam;

/// <summary>
/// Grad-CAM++ — Chattopadhyay, Sarkar, Howlader, Balasubramanian, "Grad-CAM++: Generalized
/// Gradient-based Visual Explanations for Deep Convolutional Networks", WACV 2018. Pixel-wise
/// weights α = g² / (2g² + Σ_ij A · g³) (exponential score, so higher derivatives are powers of g),
/// channel weight = Σ_ij α · ReLU(g).
/// </summary>
public sealed class GradCamPlusPlusMethod : ClassMapMethod
{
    public override string Name => "gradcam++";
    public override string Label => "Grad-CAM++";

    /// <summary>The name the history stored before methods carried their own.</summary>
    public override IReadOnlyList<string> Aliases => ["GradCamPlusPlus"];

    protected override bool NeedsGradients => true;

    protected override Tensor ChannelWeights(ClassMapStep step)
    {
        using var scope = NewDisposeScope();
        var g = step.Gradients!;
        var activations = step.Activations;
        var g2 = g.pow(2);
        var g3 = g2 * g;
        var sumActivations = activations.sum([2, 3], keepdim: true);
        var denominator = 2 * g2 + sumActivations * g3;
        denominator = where(denominator.ne(0), denominator, ones_like(denominator));
        var alpha = g2 / denominator;
        var weights = (alpha * g.relu()).sum([2, 3]);
        return weights.MoveToOuterDisposeScope();
    }
}
