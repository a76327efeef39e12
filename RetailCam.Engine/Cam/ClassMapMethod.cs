using RetailCam.Engine.Models;
using static TorchSharp.torch;

namespace RetailCam.Engine.Cam;

public enum ClassMapKind
{
    Cam,
    GradCam,
    GradCamPlusPlus,
}

/// <summary>
/// One pipeline for every class-map method: forward to the head's last conv activations A [B,K,h,w],
/// (gradients of the target score with respect to A where the method needs them), channel weights
/// w [B,K] from the method, map = ReLU(Σ_k w_k A_k), then per-image min–max normalisation to [0,1].
/// Each method supplies only its channel weights.
/// </summary>
public abstract class ClassMapMethod
{
    public abstract ClassMapKind Kind { get; }

    /// <summary>True when the weights need ∂score/∂A.</summary>
    protected abstract bool NeedsGradients { get; }

    /// <summary>Channel weights [B,K] for the target classes.</summary>
    protected abstract Tensor ChannelWeights(CamNetwork network, Tensor activations, Tensor? gradients, ClassTarget target);

    public static ClassMapMethod For(ClassMapKind kind) => kind switch
    {
        ClassMapKind.Cam => new CamMethod(),
        ClassMapKind.GradCam => new GradCamMethod(),
        ClassMapKind.GradCamPlusPlus => new GradCamPlusPlusMethod(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown class-map method."),
    };

    /// <summary>
    /// Class maps for a batch of RGB 0–255 images, at the feature-map resolution [B,h,w], normalised
    /// to [0,1], and the logits of the same pass. Leaves the network's parameters and the input untouched.
    /// </summary>
    public ClassMapResult Compute(CamNetwork network, Tensor rgb, ClassTarget target)
    {
        using var scope = NewDisposeScope();
        Tensor activations;
        using (no_grad())
        {
            using var forward = network.ForwardWithActivations(rgb);
            activations = forward.Activations.detach();
        }

        Tensor logits;
        Tensor? gradients = null;
        if (NeedsGradients)
        {
            // The gradient only has to reach the activations: everything below them stays out of the
            // graph, which keeps gradient methods cheap and leaves parameter .grad untouched.
            using var enabled = enable_grad();
            var leaf = activations.requires_grad_(true);
            logits = network.Head.Classify(leaf);
            gradients = autograd.grad([target.Score(logits)], [leaf])[0];
            logits = logits.detach();
            activations = leaf.detach();
        }
        else
        {
            using (no_grad())
                logits = network.Head.Classify(activations);
        }

        using (no_grad())
        {
            var weights = ChannelWeights(network, activations, gradients, target);
            var maps = einsum("bk,bkhw->bhw", weights, activations);
            var raw = maps.clone();
            var normalised = NormalisePerImage(maps.relu());
            return new ClassMapResult(normalised.MoveToOuterDisposeScope(), raw.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope(), Kind);
        }
    }

    /// <summary>(x − min) / (max − min) per image; an all-equal map becomes all zeros rather than NaN.</summary>
    public static Tensor NormalisePerImage(Tensor maps)
    {
        using var scope = NewDisposeScope();
        var flat = maps.flatten(1);
        var min = flat.amin([1], keepdim: true);
        var range = (flat.amax([1], keepdim: true) - min).clamp_min(1e-12);
        return ((flat - min) / range).view_as(maps).MoveToOuterDisposeScope();
    }
}

/// <summary>Normalised maps [B,h,w] in [0,1], the raw weighted sums before ReLU [B,h,w], and logits [B,C].</summary>
public sealed record ClassMapResult(Tensor Maps, Tensor RawMaps, Tensor Logits, ClassMapKind Kind) : IDisposable
{
    /// <summary>Bilinear upsampling of the normalised maps to an image size, [B,H,W], clamped to [0,1].</summary>
    public Tensor Upsample(long height, long width)
    {
        using var scope = NewDisposeScope();
        var up = nn.functional.interpolate(Maps.unsqueeze(1), [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
        return up.squeeze(1).clamp(0, 1).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Maps.Dispose();
        RawMaps.Dispose();
        Logits.Dispose();
    }
}
