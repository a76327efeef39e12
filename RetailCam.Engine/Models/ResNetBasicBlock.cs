using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

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
        bn1 = nn.BatchNorm2d(outChannels, eps: ResNet18.BatchNormEpsilon);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, stride: 1, padding: secondDilation, dilation: secondDilation, bias: false);
        bn2 = nn.BatchNorm2d(outChannels, eps: ResNet18.BatchNormEpsilon);
        if (stride != 1 || inChannels != outChannels)
        {
            downsample = nn.Sequential(
                ("0", nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false)),
                ("1", nn.BatchNorm2d(outChannels, eps: ResNet18.BatchNormEpsilon)));
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

    /// <summary>The first 3×3 convolution of the main path (it carries the block's stride).</summary>
    public Conv2d Conv1 => conv1;

    /// <summary>The second 3×3 convolution of the main path.</summary>
    public Conv2d Conv2 => conv2;

    /// <summary>The 1×1 projection of the shortcut, or null where the shortcut is the identity.</summary>
    public Conv2d? ShortcutConv => downsample is null ? null : DownsampleConv;

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
