using RetailCam.Engine.Imaging;
using RetailCam.Engine.Models;
using static TorchSharp.torch;

namespace RetailCam.Engine.Cam;

/// <summary>
/// What a method's step sees for a batch of (image, class) pairs: the head's last conv activations A
/// [B,K,h,w] in float32, ∂score/∂A where the method asks for it, the head's weights of each pair's
/// class [B,K], the target, and the RGB 0–255 input [B,3,H,W] when the caller has it (for methods
/// that perturb the input, such as Score-CAM).
/// </summary>
public sealed record ClassMapStep(Tensor Activations, Tensor? Gradients, Tensor ClassWeights, ClassTarget Target, Tensor? Input);

/// <summary>
/// One pipeline for every class-map method: activations A [B,K,h,w] (from a forward pass here, or from
/// one the caller already paid for), gradients where the method needs them, channel weights w [B,K]
/// from the method, map = ReLU(Σ_k w_k A_k), then per-image min–max normalisation to [0,1]. Each
/// method supplies only its channel weights, its name for the CLI and URLs, and its label for people;
/// <see cref="ClassMapMethods"/> lists them.
/// </summary>
/// <remarks>
/// The head is global average pooling then a linear layer, so ∂logit_c/∂A_k(i,j) = W[c,k] / (h·w) at
/// every cell: the gradients are read from the head's weights instead of a backward pass. That lets the
/// served bf16 forward feed every method, with no float32 copy of the model kept for gradients; the
/// tests check the identity against autograd.
/// </remarks>
public abstract class ClassMapMethod
{
    /// <summary>The method's name on the command line, in URLs and in the history ("gradcam++").</summary>
    public abstract string Name { get; }

    /// <summary>The method's name for people ("Grad-CAM++").</summary>
    public abstract string Label { get; }

    /// <summary>Other names the method was stored under by earlier versions.</summary>
    public virtual IReadOnlyList<string> Aliases => [];

    /// <summary>True when the weights need ∂score/∂A.</summary>
    protected virtual bool NeedsGradients => false;

    /// <summary>Channel weights [B,K] for the step's pairs.</summary>
    protected abstract Tensor ChannelWeights(ClassMapStep step);

    /// <summary>
    /// Class maps for a batch of RGB 0–255 images, at the feature-map resolution [B,h,w], normalised
    /// to [0,1], and the logits of the same pass. Leaves the network's parameters and the input untouched.
    /// </summary>
    public ClassMapResult Compute(CamNetwork network, Tensor rgb, ClassTarget target)
    {
        using var scope = NewDisposeScope();
        using var noGradients = no_grad();
        using var forward = network.ForwardWithActivations(rgb);
        var raw = RawMaps(network.Head, forward.Activations, target, rgb);
        var normalised = NormalisePerImage(raw.relu());
        var logits = forward.Logits.to_type(ScalarType.Float32);
        return new ClassMapResult(normalised.MoveToOuterDisposeScope(), raw.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope(), this);
    }

    /// <summary>
    /// Normalised maps [B,h,w] of (image, class) pairs from activations [B,K,h,w] a forward pass already
    /// gave (any dtype; row b pairs with class target[b]), so explaining a served request costs no second pass.
    /// </summary>
    public Tensor FromActivations(CamHead head, Tensor activations, ClassTarget target, Tensor? input = null)
    {
        using var scope = NewDisposeScope();
        using var noGradients = no_grad();
        return NormalisePerImage(RawMaps(head, activations, target, input).relu()).MoveToOuterDisposeScope();
    }

    private Tensor RawMaps(CamHead head, Tensor activations, ClassTarget target, Tensor? input)
    {
        if (activations.shape[0] != target.ClassIndices.Length)
            throw new ArgumentException($"Target names {target.ClassIndices.Length} classes for {activations.shape[0]} activation maps.", nameof(target));
        var a = activations.to_type(ScalarType.Float32);
        var classWeights = ClassWeightsOf(head, target, a.device);
        var gradients = NeedsGradients ? HeadGradients(classWeights, a.shape[2], a.shape[3]).expand_as(a) : null;
        var weights = ChannelWeights(new ClassMapStep(a, gradients, classWeights, target, input));
        return einsum("bk,bkhw->bhw", weights, a);
    }

    private static Tensor ClassWeightsOf(CamHead head, ClassTarget target, Device device)
    {
        using var index = tensor(target.ClassIndices, device: device);
        return head.ClassWeights.detach().to_type(ScalarType.Float32).index_select(0, index);
    }

    /// <summary>∂logit_c/∂A for a GAP + linear head, [B,K,1,1]: W[c,k] / (h·w), the same at every cell.</summary>
    public static Tensor HeadGradients(CamHead head, ClassTarget target, long height, long width) =>
        HeadGradients(ClassWeightsOf(head, target, head.ClassWeights.device), height, width);

    private static Tensor HeadGradients(Tensor classWeights, long height, long width) =>
        (classWeights / (height * width)).unsqueeze(-1).unsqueeze(-1);

    /// <summary>(x − min) / (max − min) per image; an all-equal map becomes all zeros rather than NaN.</summary>
    public static Tensor NormalisePerImage(Tensor maps)
    {
        using var scope = NewDisposeScope();
        var flat = maps.flatten(1);
        var min = flat.amin([1], keepdim: true);
        var range = (flat.amax([1], keepdim: true) - min).clamp_min(1e-12);
        return ((flat - min) / range).view_as(maps).MoveToOuterDisposeScope();
    }

    public override string ToString() => Name;

    // Methods are told apart by name: two instances of one method are the same method.
    public override bool Equals(object? obj) => obj is ClassMapMethod other && other.Name == Name;

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);
}

/// <summary>Normalised maps [B,h,w] in [0,1], the raw weighted sums before ReLU [B,h,w], and logits [B,C].</summary>
public sealed record ClassMapResult(Tensor Maps, Tensor RawMaps, Tensor Logits, ClassMapMethod Method) : IDisposable
{
    /// <summary>The normalised maps at an image size, [B,H,W], through the upsampler overlays and boxes use.</summary>
    public Tensor Upsample(long height, long width)
    {
        var (b, h, w) = ((int)Maps.shape[0], (int)Maps.shape[1], (int)Maps.shape[2]);
        var values = Maps.detach().cpu().data<float>().ToArray();
        var result = new float[b * height * width];
        for (var i = 0; i < b; i++)
            MapUpsampling.Bilinear(values.AsSpan(i * h * w, h * w), w, h, (int)width, (int)height).CopyTo(result, i * height * width);
        return tensor(result, [b, height, width], device: Maps.device);
    }

    public void Dispose()
    {
        Maps.Dispose();
        RawMaps.Dispose();
        Logits.Dispose();
    }
}
