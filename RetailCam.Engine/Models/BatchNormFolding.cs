using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>
/// Folds an inference-mode BatchNorm into the convolution before it: y = γ·(Wx + b − μ)/√(σ² + ε) + β
/// is one convolution with W' = W·γ/√(σ² + ε) and b' = (b − μ)·γ/√(σ² + ε) + β. ONNX Runtime does
/// this to every Conv+BatchNormalization pair when it loads a graph; doing the same saves a full
/// read and write of each activation, which matters most at batch 1.
/// Only for networks that serve predictions: the folded copy must never train or be saved.
/// </summary>
public static class BatchNormFolding
{
    public static void Fold(Conv2d conv, BatchNorm2d batchNorm)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var mean = batchNorm.running_mean ?? throw new InvalidOperationException("BatchNorm has no running mean to fold.");
        var variance = batchNorm.running_var ?? throw new InvalidOperationException("BatchNorm has no running variance to fold.");
        var scale = (variance + batchNorm.eps).rsqrt();
        if (batchNorm.weight is { } gamma) scale = scale * gamma;
        var shift = batchNorm.bias is { } beta ? beta.clone() : zeros_like(mean);
        var weight = conv.weight! * scale.view(-1, 1, 1, 1);
        var bias = (conv.bias is { } oldBias ? oldBias - mean : -mean) * scale + shift;
        conv.weight = new Parameter(weight.to_type(conv.weight!.dtype).MoveToOuterDisposeScope(), requires_grad: false);
        conv.bias = new Parameter(bias.to_type(conv.weight.dtype).MoveToOuterDisposeScope(), requires_grad: false);
    }
}
