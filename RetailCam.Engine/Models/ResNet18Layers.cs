using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>
/// The shape of the ImageNet ResNet18 we import: torchvision's layout, but with three BasicBlocks
/// in the last stage, because that is what the CNTK export in Microsoft.ML.DnnImageFeaturizer.ResNet18 holds.
/// </summary>
public static class ResNet18Layout
{
    public static IReadOnlyList<int> StageBlockCounts { get; } = [2, 2, 2, 3];
    public static IReadOnlyList<int> StageChannels { get; } = [64, 128, 256, 512];

    /// <summary>The stored BatchNorm epsilon of the pretrained file, also torchvision's default.</summary>
    public const double BatchNormEpsilon = 1e-5;

    internal static Sequential MakeStage(int stage, int inChannels, long stride, long dilation)
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
            blocks.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), block));
        }
        return nn.Sequential(blocks);
    }

    /// <summary>conv 7×7 → BatchNorm (none once folded into the conv) → ReLU → max-pool: the stem both ResNet18 modules share.</summary>
    internal static Tensor Stem(Conv2d conv, BatchNorm2d batchNorm, MaxPool2d pool, bool batchNormFolded, Tensor input)
    {
        var x = conv.call(input);
        if (!batchNormFolded) x = batchNorm.call(x);
        return pool.call(x.relu_());
    }

    /// <summary>Folds the stem's BatchNorm and every block's of the given stages.</summary>
    internal static void FoldBatchNorm(Conv2d stemConv, BatchNorm2d stemBatchNorm, IEnumerable<Sequential> stages)
    {
        BatchNormFolding.Fold(stemConv, stemBatchNorm);
        foreach (var block in stages.SelectMany(s => s.children()).Cast<ResNetBasicBlock>()) block.FoldBatchNorm();
    }
}

/// <summary>
/// torchvision's BasicBlock (two 3×3 convs, identity or 1×1 projection shortcut), with optional
/// dilation, which torchvision's own BasicBlock refuses but the stride-1 layer4 variant needs.
/// Submodule names match torchvision (conv1, bn1, conv2, bn2, downsample.0, downsample.1).
/// </summary>
public sealed class ResNetBasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample;

    public ResNetBasicBlock(int inChannels, int outChannels, long stride, long firstDilation, long secondDilation)
        : base(nameof(ResNetBasicBlock))
    {
        conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: firstDilation, dilation: firstDilation, bias: false);
        bn1 = nn.BatchNorm2d(outChannels, eps: ResNet18Layout.BatchNormEpsilon);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, stride: 1, padding: secondDilation, dilation: secondDilation, bias: false);
        bn2 = nn.BatchNorm2d(outChannels, eps: ResNet18Layout.BatchNormEpsilon);
        if (stride != 1 || inChannels != outChannels)
        {
            downsample = nn.Sequential(
                ("0", nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false)),
                ("1", nn.BatchNorm2d(outChannels, eps: ResNet18Layout.BatchNormEpsilon)));
        }
        RegisterComponents();
    }

    public bool HasDownsample => downsample is not null;

    /// <summary>True after <see cref="FoldBatchNorm"/>: the convolutions alone compute each conv + BatchNorm.</summary>
    public bool BatchNormFolded { get; private set; }

    /// <summary>Folds every BatchNorm of the block into its convolution (see <see cref="BatchNormFolding"/>).</summary>
    public void FoldBatchNorm()
    {
        if (BatchNormFolded) return;
        BatchNormFolding.Fold(conv1, bn1);
        BatchNormFolding.Fold(conv2, bn2);
        if (downsample is not null) BatchNormFolding.Fold(DownsampleConv, DownsampleBatchNorm);
        BatchNormFolded = true;
    }

    private Conv2d DownsampleConv => (Conv2d)downsample!.children().First();

    private BatchNorm2d DownsampleBatchNorm => (BatchNorm2d)downsample!.children().Last();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor main, shortcut;
        if (BatchNormFolded)
        {
            main = conv2.call(conv1.call(input).relu_());
            shortcut = downsample is null ? input : DownsampleConv.call(input);
        }
        else
        {
            main = bn2.call(conv2.call(bn1.call(conv1.call(input)).relu_()));
            shortcut = downsample is null ? input : downsample.call(input);
        }
        return main.add_(shortcut).relu_().MoveToOuterDisposeScope();
    }
}
