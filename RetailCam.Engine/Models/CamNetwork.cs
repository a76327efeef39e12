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

    public override Tensor forward(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var logits = head.call(backbone.call(normalization.call(rgb)));
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Logits together with the head's activations, from one pass.</summary>
    public CamForward ForwardWithActivations(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var activations = head.Activations(backbone.call(normalization.call(rgb)));
        var logits = head.Classify(activations);
        return new CamForward(logits.MoveToOuterDisposeScope(), activations.MoveToOuterDisposeScope());
    }
}
