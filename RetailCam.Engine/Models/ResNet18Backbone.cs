using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>Where the ResNet18 trunk ends when it feeds the CAM head (both give 14×14 at 224²).</summary>
public enum ResNet18CamTrunk
{
    /// <summary>Stem to layer3: 256 channels at stride 16. About twice as fast as the dilated variant.</summary>
    Layer3,

    /// <summary>Stem to layer4 with layer4's stride replaced by dilation 2: 512 channels at stride 16.</summary>
    DilatedLayer4,
}

/// <summary>
/// ResNet18 as the CAM backbone: torchvision-shaped ([2, 2, 2, 3] BasicBlocks, parameter names
/// conv1, bn1, layer1.0.conv1, …) and cut so the class map stays at 14×14 for a 224² image; the
/// plain network's 7×7 map is too coarse to draw boxes from. Take pretrained weights with
/// <see cref="CopyWeightsFrom"/>; the full 512-d network is <see cref="ResNet18Features"/>.
/// </summary>
public sealed class ResNet18Backbone : Backbone
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential? layer4;
    private readonly PreprocessingSpec preprocessing;
    private BatchNorm2d[] frozenBatchNorms = [];

    public ResNet18Backbone(ResNet18CamTrunk trunk, PreprocessingSpec preprocessing) : base(nameof(ResNet18Backbone))
    {
        Trunk = trunk;
        this.preprocessing = preprocessing;
        conv1 = nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(64, eps: ResNet18Layout.BatchNormEpsilon);
        maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);
        layer1 = ResNet18Layout.MakeStage(0, 64, stride: 1, dilation: 1);
        layer2 = ResNet18Layout.MakeStage(1, 64, stride: 2, dilation: 1);
        layer3 = ResNet18Layout.MakeStage(2, 128, stride: 2, dilation: 1);
        if (trunk == ResNet18CamTrunk.DilatedLayer4)
            layer4 = ResNet18Layout.MakeStage(3, 256, stride: 1, dilation: 2);
        RegisterComponents();
    }

    public ResNet18CamTrunk Trunk { get; }

    public override BackboneKind Kind => BackboneKind.ResNet18;

    public override int FeatureChannels => layer4 is null ? ResNet18Layout.StageChannels[2] : ResNet18Layout.StageChannels[3];

    public override int FeatureStride => 16;

    public override PreprocessingSpec Preprocessing => preprocessing;

    /// <summary>True after <see cref="FreezeEarlyLayers"/>.</summary>
    public bool EarlyLayersFrozen => frozenBatchNorms.Length > 0;

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = ResNet18Layout.Stem(conv1, bn1, maxpool, batchNormFolded, input);
        x = layer3.call(layer2.call(layer1.call(x)));
        if (layer4 is not null) x = layer4.call(x);
        return x.MoveToOuterDisposeScope();
    }

    public override bool BatchNormFolded => batchNormFolded;

    private bool batchNormFolded;

    public override void FoldBatchNorm()
    {
        if (batchNormFolded) return;
        ResNet18Layout.FoldBatchNorm(conv1, bn1, layer4 is null ? [layer1, layer2, layer3] : [layer1, layer2, layer3, layer4]);
        batchNormFolded = true;
    }

    /// <summary>
    /// Stops gradients into the stem and layer1 and pins their BatchNorm layers to the stored ImageNet
    /// statistics. Generic edges and textures need no retraining, and a step that never back-propagates
    /// through the two highest-resolution parts costs about half as much.
    /// </summary>
    public override void FreezeEarlyLayers()
    {
        nn.Module[] frozen = [conv1, bn1, layer1];
        foreach (var module in frozen)
        {
            foreach (var parameter in module.parameters())
                parameter.requires_grad = false;
        }
        frozenBatchNorms = frozen.SelectMany(m => m.modules().Prepend(m)).OfType<BatchNorm2d>().Distinct().ToArray();
        foreach (var batchNorm in frozenBatchNorms) batchNorm.eval();
    }

    /// <summary>
    /// Module.train recurses through children by calling their train, so a trainer that puts the whole
    /// network (this backbone nested in a <see cref="CamNetwork"/>) into training mode reaches this
    /// override, which puts the frozen BatchNorm layers straight back into evaluation mode: in training
    /// mode they would normalise with batch statistics and overwrite their running statistics.
    /// </summary>
    public override void train(bool train = true)
    {
        if (train && batchNormFolded) throw new InvalidOperationException("This backbone's BatchNorm is folded for serving; it cannot train.");
        base.train(train);
        foreach (var batchNorm in frozenBatchNorms) batchNorm.eval();
    }

    /// <summary>
    /// Copies every parameter and buffer this trunk has from the full network by their shared
    /// torchvision names; the dilated layer4 has the same shapes as the strided one.
    /// </summary>
    public void CopyWeightsFrom(ResNet18Features source)
    {
        var sourceState = source.state_dict();
        using var noGrad = no_grad();
        foreach (var (name, target) in state_dict())
        {
            if (!sourceState.TryGetValue(name, out var value))
                throw new ArgumentException($"The source network has no tensor '{name}'.", nameof(source));
            if (!value.shape.SequenceEqual(target.shape))
                throw new ArgumentException($"Tensor '{name}' is [{string.Join(",", value.shape)}] in the source but [{string.Join(",", target.shape)}] here.", nameof(source));
            target.copy_(value);
        }
    }
}
