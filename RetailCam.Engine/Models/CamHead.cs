using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>
/// The head of Zhou et al. 2016 ("Learning Deep Features for Discriminative Localization"):
/// conv 3×3 + ReLU → global average pooling → linear. Because pooling is linear, the class map
/// W_c · features averages to the logit of c minus its bias, which is what makes the maps honest.
/// </summary>
public sealed class CamHead : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly Linear classifier;

    public int InChannels { get; }
    public int HiddenChannels { get; }
    public int ClassCount { get; }

    public CamHead(int inChannels, int hiddenChannels, int classCount) : base(nameof(CamHead))
    {
        if (classCount < 2) throw new ArgumentOutOfRangeException(nameof(classCount), "A classifier needs at least two categories.");
        InChannels = inChannels;
        HiddenChannels = hiddenChannels;
        ClassCount = classCount;
        conv = nn.Conv2d(inChannels, hiddenChannels, 3, padding: 1);
        classifier = nn.Linear(hiddenChannels, classCount);
        RegisterComponents();
    }

    public Parameter ClassWeights => classifier.weight!;

    /// <summary>The 3×3 convolution whose ReLU'd output is the activations the class weights apply to.</summary>
    public Conv2d Convolution => conv;

    /// <summary>
    /// Starts the head as a fitted linear probe (LP-FT, Kumar et al. 2022): the conv layer as the
    /// identity (its centre tap 1 on its own channel; the trunk's features are already ≥ 0, so the ReLU
    /// keeps them), the classifier as the probe fitted on their global averages. The head then computes
    /// exactly the probe, and fine-tuning starts from there instead of from random weights.
    /// </summary>
    /// <param name="weights">[C, K] row-major.</param>
    public void StartFromProbe(float[] weights, float[] bias)
    {
        if (HiddenChannels != InChannels)
            throw new InvalidOperationException($"A probe start needs as many hidden channels as inputs ({InChannels}), not {HiddenChannels}.");
        using var noGrad = no_grad();
        using var identity = zeros(HiddenChannels, InChannels, 3, 3);
        for (var k = 0; k < InChannels; k++) identity[k, k, 1, 1] = 1f;
        conv.weight!.copy_(identity);
        conv.bias!.zero_();
        using var w = tensor(weights, [ClassCount, HiddenChannels]);
        using var b = tensor(bias);
        classifier.weight!.copy_(w);
        classifier.bias!.copy_(b);
    }
    public Parameter ClassBias => classifier.bias!;

    /// <summary>The last conv layer's activations, [B,K,h,w]: what class maps and Grad-CAM read.</summary>
    public Tensor Activations(Tensor backboneFeatures) => nn.functional.relu(conv.call(backboneFeatures));

    /// <summary>Logits from activations: global average pooling, then the linear layer.</summary>
    public Tensor Classify(Tensor activations) => classifier.call(activations.mean([2, 3]));

    public override Tensor forward(Tensor backboneFeatures)
    {
        using var activations = Activations(backboneFeatures);
        return Classify(activations);
    }

    /// <summary>
    /// Class maps before upsampling: for each chosen class c, Σ_k W[c,k] · A_k, shape [B, |classes|, h, w].
    /// Bias excluded, so the spatial mean plus b_c equals the logit of c.
    /// </summary>
    public Tensor ClassMaps(Tensor activations, long[] classes)
    {
        using var scope = NewDisposeScope();
        var weights = ClassWeights.index_select(0, tensor(classes, device: activations.device));
        var maps = einsum("ck,bkhw->bchw", weights, activations);
        return maps.MoveToOuterDisposeScope();
    }
}
