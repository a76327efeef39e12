using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>
/// The whole ImageNet ResNet18 trunk, stem to layer4 and global average pooling: [B,3,H,W] → [B,512].
/// It is what the pretrained ONNX file computes, so it is the network the parity check runs; the CAM
/// backbone (<see cref="ResNet18Backbone"/>) is a cut-down copy. Parameter names follow torchvision.
/// </summary>
public sealed class ResNet18Features : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;

    public ResNet18Features() : base(nameof(ResNet18Features))
    {
        conv1 = nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(64, eps: ResNet18Layout.BatchNormEpsilon);
        maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);
        layer1 = ResNet18Layout.MakeStage(0, 64, stride: 1, dilation: 1);
        layer2 = ResNet18Layout.MakeStage(1, 64, stride: 2, dilation: 1);
        layer3 = ResNet18Layout.MakeStage(2, 128, stride: 2, dilation: 1);
        layer4 = ResNet18Layout.MakeStage(3, 256, stride: 2, dilation: 1);
        RegisterComponents();
    }

    public const int FeatureCount = 512;

    internal Conv2d StemConv => conv1;
    internal BatchNorm2d StemBatchNorm => bn1;

    /// <summary>The four stages in order; each holds its blocks as children "0", "1", ….</summary>
    internal IReadOnlyList<Sequential> Stages => [layer1, layer2, layer3, layer4];

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = Trunk(input, stages: 4);
        return x.mean([2, 3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The output of the stem (after max-pooling) and of every stage: five tensors, what a per-stage
    /// comparison against another implementation of the same network reads.
    /// </summary>
    public Tensor[] StageOutputs(Tensor input)
    {
        using var scope = NewDisposeScope();
        var outputs = new Tensor[5];
        var x = outputs[0] = Stem(input);
        var stages = Stages;
        for (var i = 0; i < stages.Count; i++)
            x = outputs[i + 1] = stages[i].call(x);
        foreach (var output in outputs) output.MoveToOuterDisposeScope();
        return outputs;
    }

    private Tensor Stem(Tensor input) => ResNet18Layout.Stem(conv1, bn1, maxpool, BatchNormFolded, input);

    /// <summary>True after <see cref="FoldBatchNorm"/>.</summary>
    public bool BatchNormFolded { get; private set; }

    /// <summary>Folds every BatchNorm into its convolution for serving (see <see cref="BatchNormFolding"/>).</summary>
    public void FoldBatchNorm()
    {
        if (BatchNormFolded) return;
        ResNet18Layout.FoldBatchNorm(conv1, bn1, Stages);
        BatchNormFolded = true;
    }

    private Tensor Trunk(Tensor input, int stages)
    {
        var x = Stem(input);
        var all = Stages;
        for (var i = 0; i < stages; i++) x = all[i].call(x);
        return x;
    }
}
