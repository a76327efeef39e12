using System.Globalization;
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
/// What a <see cref="ResNet18"/> computes, as TorchVision's <c>ResNet</c> takes
/// <c>replace_stride_with_dilation</c>: the stage it ends with, whether layer4 trades its stride for
/// dilation, and whether global average pooling closes it.
/// </summary>
/// <param name="LastStage">3 (stop after layer3) or 4.</param>
/// <param name="DilateLayer4">Layer4 at stride 1 and dilation 2, so the map keeps layer3's resolution.</param>
/// <param name="GlobalPool">Ends with global average pooling, [B,C,h,w] → [B,C]: the ImageNet feature vector.</param>
public sealed record ResNet18Options(int LastStage = 4, bool DilateLayer4 = false, bool GlobalPool = false)
{
    /// <summary>The whole ImageNet trunk, stem to layer4 and pooling, [B,3,H,W] → [B,512]: what the pretrained ONNX file computes.</summary>
    public static ResNet18Options ImageNetFeatures { get; } = new(LastStage: 4, GlobalPool: true);

    /// <summary>A trunk for the CAM head: a feature map at stride 16.</summary>
    public static ResNet18Options Cam(ResNet18CamTrunk trunk) => trunk switch
    {
        ResNet18CamTrunk.Layer3 => new(LastStage: 3),
        ResNet18CamTrunk.DilatedLayer4 => new(LastStage: 4, DilateLayer4: true),
        _ => throw new ArgumentOutOfRangeException(nameof(trunk), trunk, "Unknown CAM trunk."),
    };
}

/// <summary>
/// ResNet18, torchvision-shaped (BasicBlocks, parameter names conv1, bn1, layer1.0.conv1, …) but with
/// three blocks in the last stage, because that is what the CNTK export in
/// Microsoft.ML.DnnImageFeaturizer.ResNet18 holds. One class serves both uses: the full pooled
/// network the ONNX file is checked against (<see cref="ResNet18Options.ImageNetFeatures"/>) and the CAM
/// trunk cut so the class map stays at 14×14 for a 224² image, where the plain network's 7×7 map is
/// too coarse to draw boxes from (<see cref="ResNet18Options.Cam"/>). Every variant has the same
/// tensor names for the stages it keeps, so <see cref="CopyWeightsFrom"/> moves weights between them.
/// </summary>
public sealed class ResNet18 : Backbone
{
    public static IReadOnlyList<int> StageBlockCounts { get; } = [2, 2, 2, 3];
    public static IReadOnlyList<int> StageChannels { get; } = [64, 128, 256, 512];

    /// <summary>The stored BatchNorm epsilon of the pretrained file, also torchvision's default.</summary>
    public const double BatchNormEpsilon = 1e-5;

    /// <summary>Channels of the pooled ImageNet feature vector.</summary>
    public const int FeatureCount = 512;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential? layer4;
    private readonly PreprocessingSpec preprocessing;
    private BatchNorm2d[] frozenBatchNorms = [];
    private bool batchNormFolded;

    public ResNet18(ResNet18Options options, PreprocessingSpec preprocessing) : base(nameof(ResNet18))
    {
        if (options.LastStage is not (3 or 4))
            throw new ArgumentOutOfRangeException(nameof(options), options.LastStage, "A ResNet18 trunk ends with layer3 or layer4.");
        if (options.DilateLayer4 && options.LastStage != 4)
            throw new ArgumentException("Layer4 can only be dilated in a trunk that has it.", nameof(options));
        Options = options;
        this.preprocessing = preprocessing;
        conv1 = nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(64, eps: BatchNormEpsilon);
        maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);
        layer1 = MakeStage(0, 64, stride: 1, dilation: 1);
        layer2 = MakeStage(1, 64, stride: 2, dilation: 1);
        layer3 = MakeStage(2, 128, stride: 2, dilation: 1);
        if (options.LastStage == 4)
            layer4 = options.DilateLayer4 ? MakeStage(3, 256, stride: 1, dilation: 2) : MakeStage(3, 256, stride: 2, dilation: 1);
        RegisterComponents();
    }

    public ResNet18Options Options { get; }

    public override BackboneKind Kind => BackboneKind.ResNet18;

    /// <summary>Channels of the last stage: the map's, or the pooled vector's length.</summary>
    public override int FeatureChannels => StageChannels[Options.LastStage - 1];

    /// <summary>Input pixels per cell of the last stage's map (before pooling, where it pools).</summary>
    public override int FeatureStride => Options.LastStage == 4 && !Options.DilateLayer4 ? 32 : 16;

    public override PreprocessingSpec Preprocessing => preprocessing;

    /// <summary>The stages this trunk runs, in order; each holds its blocks as children "0", "1", ….</summary>
    public IReadOnlyList<Sequential> Stages => layer4 is null ? [layer1, layer2, layer3] : [layer1, layer2, layer3, layer4];

    /// <summary>The stem's 7×7 convolution (BatchNorm folded into it once <see cref="BatchNormFolded"/>).</summary>
    public Conv2d StemConv => conv1;

    /// <summary>The stem's 3×3 max-pool.</summary>
    public MaxPool2d StemPool => maxpool;

    /// <summary>True after <see cref="FreezeEarlyLayers"/>.</summary>
    public bool EarlyLayersFrozen => frozenBatchNorms.Length > 0;

    public override bool BatchNormFolded => batchNormFolded;

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = Stem(input);
        foreach (var stage in Stages) x = stage.call(x);
        if (Options.GlobalPool) x = x.mean([2, 3]);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The output of the stem (after max-pooling) and of every stage, unpooled: what a per-stage
    /// comparison against another implementation of the same network reads.
    /// </summary>
    public Tensor[] StageOutputs(Tensor input)
    {
        using var scope = NewDisposeScope();
        var stages = Stages;
        var outputs = new Tensor[stages.Count + 1];
        var x = outputs[0] = Stem(input);
        for (var i = 0; i < stages.Count; i++)
            x = outputs[i + 1] = stages[i].call(x);
        foreach (var output in outputs) output.MoveToOuterDisposeScope();
        return outputs;
    }

    /// <summary>conv 7×7 → BatchNorm (none once folded into the conv) → ReLU → max-pool.</summary>
    private Tensor Stem(Tensor input)
    {
        var x = conv1.call(input);
        if (!batchNormFolded) x = bn1.call(x);
        return maxpool.call(x.relu_());
    }

    public override void FoldBatchNorm()
    {
        if (batchNormFolded) return;
        BatchNormFolding.Fold(conv1, bn1);
        foreach (var block in Stages.SelectMany(s => s.children()).Cast<ResNetBasicBlock>()) block.FoldBatchNorm();
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
    /// Pins every BatchNorm layer of the trunk to its stored statistics for the rest of training (their
    /// scale and shift still learn): batches of a small catalogue, half of them composed scenes on shop
    /// backgrounds, are too few and too unlike the photos served to re-estimate them, and a head fitted
    /// on the pretrained features (the probe start) only fits while those statistics hold.
    /// </summary>
    public override void FreezeBatchNormStatistics()
    {
        frozenBatchNorms = modules().OfType<BatchNorm2d>().Concat(frozenBatchNorms).Distinct().ToArray();
        foreach (var batchNorm in frozenBatchNorms) batchNorm.eval();
    }

    /// <summary>
    /// Module.train recurses through children by calling their train, so a trainer that puts the whole
    /// network (this trunk nested in a <see cref="CamNetwork"/>) into training mode reaches this
    /// override, which puts the frozen BatchNorm layers straight back into evaluation mode: in training
    /// mode they would normalise with batch statistics and overwrite their running statistics.
    /// </summary>
    public override void train(bool train = true)
    {
        if (train && batchNormFolded) throw new InvalidOperationException("This network's BatchNorm is folded for serving; it cannot train.");
        base.train(train);
        foreach (var batchNorm in frozenBatchNorms) batchNorm.eval();
    }

    /// <summary>
    /// Copies every parameter and buffer this trunk has from another ResNet18 by their shared
    /// torchvision names; the dilated layer4 has the same shapes as the strided one.
    /// </summary>
    public void CopyWeightsFrom(ResNet18 source)
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

    private static Sequential MakeStage(int stage, int inChannels, long stride, long dilation)
    {
        var outChannels = StageChannels[stage];
        var blocks = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (var i = 0; i < StageBlockCounts[stage]; i++)
        {
            // As in DeepLab's dilated ResNets: a stage that trades its stride for dilation keeps the
            // first conv of its first block undilated, so that block still sees the previous resolution's context.
            var block = i == 0
                ? new ResNetBasicBlock(inChannels, outChannels, stride, firstDilation: 1, secondDilation: dilation)
                : new ResNetBasicBlock(outChannels, outChannels, 1, firstDilation: dilation, secondDilation: dilation);
            blocks.Add((i.ToString(CultureInfo.InvariantCulture), block));
        }
        return nn.Sequential(blocks);
    }
}
