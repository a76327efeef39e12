using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>What one forward pass yields when the caller also wants class maps.</summary>
public sealed record CamForward(Tensor Logits, Tensor Activations) : IDisposable
{
    public void Dispose()
    {
        Logits.Dispose();
        Activations.Dispose();
    }
}

/// <summary>
/// The whole classifier: input normalisation → backbone → CAM head. Takes RGB float 0–255
/// [B,3,H,W]; returns logits [B,C].
/// </summary>
public sealed class CamNetwork : nn.Module<Tensor, Tensor>
{
    private readonly InputNormalization normalization;
    private readonly Backbone backbone;
    private readonly CamHead head;

    public CamNetwork(InputNormalization normalization, Backbone backbone, CamHead head) : base(nameof(CamNetwork))
    {
        if (backbone is ResNet18 { Options.GlobalPool: true })
            throw new ArgumentException("The CAM head reads a feature map; this ResNet18 pools it away.", nameof(backbone));
        if (head.InChannels != backbone.FeatureChannels)
            throw new ArgumentException($"Head expects {head.InChannels} channels but the backbone gives {backbone.FeatureChannels}.");
        this.normalization = normalization;
        this.backbone = backbone;
        this.head = head;
        RegisterComponents();
    }

    public Backbone Backbone => backbone;
    public CamHead Head => head;
    public InputNormalization Normalization => normalization;

    /// <summary>The type the backbone and head compute in: float32 unless <see cref="ToBFloat16"/> was called.</summary>
    public ScalarType ComputeType { get; private set; } = ScalarType.Float32;

    /// <summary>Folds the backbone's BatchNorm into its convolutions: for a copy that only serves, never trains.</summary>
    public void FoldBatchNorm() => backbone.FoldBatchNorm();

    /// <summary>
    /// Backbone and head to bfloat16 for inference on CPUs with native bf16 dot products (about twice
    /// the speed there, see docs/BENCHMARKS.md). Normalisation stays float32, where 0–255 inputs keep
    /// their precision; outputs come out in bfloat16.
    /// </summary>
    public void ToBFloat16()
    {
        backbone.to(ScalarType.BFloat16);
        head.to(ScalarType.BFloat16);
        ComputeType = ScalarType.BFloat16;
    }

    public override Tensor forward(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var logits = head.call(backbone.call(Normalised(rgb)));
        return logits.MoveToOuterDisposeScope();
    }

    private Tensor Normalised(Tensor rgb)
    {
        var x = normalization.call(rgb);
        return x.dtype == ComputeType ? x : x.to_type(ComputeType);
    }

    /// <summary>Logits together with the head's activations, from one pass.</summary>
    public CamForward ForwardWithActivations(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var activations = head.Activations(backbone.call(Normalised(rgb)));
        var logits = head.Classify(activations);
        return new CamForward(logits.MoveToOuterDisposeScope(), activations.MoveToOuterDisposeScope());
    }
}
