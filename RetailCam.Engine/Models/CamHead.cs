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
