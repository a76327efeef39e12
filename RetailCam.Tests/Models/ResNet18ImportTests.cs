using RetailCam.Engine.Models.Import;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

[Collection(PretrainedResNet18Collection.Name)]
public class ResNet18ImportTests(PretrainedResNet18Fixture fixture)
{
    private PretrainedResNet18 Model => fixture.Model;

    [Fact]
    public void All_110_tensors_are_mapped_by_graph_structure_into_stages_of_2_2_2_3_blocks()
    {
        Assert.Equal([2, 2, 2, 3], Model.Graph.StageBlockCounts);
        Assert.Equal(110, Model.Graph.File.Initializers.Count);
        Assert.Equal(110, Model.TensorMapping.Count);
        Assert.Equal(110, Model.TensorMapping.Values.Distinct().Count());

        // Projections open stages 2–4 only, as in torchvision's ResNet18.
        var projections = Model.Graph.Stages.Select(s => s.Select(b => b.Downsample is not null).ToArray()).ToArray();
        Assert.Equal([false, false], projections[0]);
        Assert.Equal([true, false], projections[1]);
        Assert.Equal([true, false], projections[2]);
        Assert.Equal([true, false, false], projections[3]);

        var learned = Model.Features.state_dict().Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(learned, Model.TensorMapping.Values.ToHashSet());
    }

    [Fact]
    public void TorchSharp_features_match_onnx_runtime_within_1e_4_on_a_photo_like_image()
    {
        var result = OnnxParityCheck.Run(Model, new ParityOptions(WarmUpRuns: 0, Runs: 1));

        Assert.InRange(result.MaxAbsDiff, 0, 1e-4);
        Assert.InRange(result.PreprocessingMaxAbsDiff, 0, 1e-4);
        Assert.Equal(["stem", "layer1", "layer2", "layer3", "layer4"], result.Stages.Select(s => s.Stage));
        Assert.All(result.Stages, s => Assert.InRange(s.MaxAbsDiff, 0, 1e-4));

        // A tolerance means nothing if the features are near zero: ImageNet features of a real-looking
        // image are sparse but have clear peaks.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var features = Model.Features.call(Model.Normalization.call(SyntheticPhoto.Create()));
        Assert.Equal([1L, 512L], features.shape);
        Assert.True(features.max().item<float>() > 1f, $"largest feature {features.max().item<float>()}");
        Assert.True(features.gt(0.01f).sum().item<long>() > 100, "too few active features");
    }

    [Fact]
    public void Mean_image_is_bgr_3_by_224_by_224_with_the_cntk_channel_means()
    {
        Assert.Equal([3L, 224L, 224L], Model.MeanImage.shape);
        using var scope = NewDisposeScope();
        var means = Model.MeanImage.mean([1, 2]).data<float>().ToArray();
        Assert.Equal(103.06, means[0], 0.01);
        Assert.Equal(115.90, means[1], 0.01);
        Assert.Equal(123.15, means[2], 0.01);
        // A per-pixel image, not three constants broadcast.
        Assert.True(Model.MeanImage[0].std().item<float>() > 0.1f);

        var spec = Model.Normalization.Spec;
        Assert.Equal("BGR", spec.ChannelOrder);
        Assert.True(spec.UsesMeanImage);
        Assert.Equal([1f, 1f, 1f], spec.Std);
        Assert.Equal(means, spec.Mean);
    }

    [Fact]
    public void Normalization_subtracts_the_mean_image_from_the_bgr_image()
    {
        using var scope = NewDisposeScope();
        var rgb = SyntheticPhoto.Create(seed: 3);
        var expected = rgb[0].flip(0) - Model.MeanImage;
        var actual = Model.Normalization.call(rgb)[0];
        Assert.True(actual.allclose(expected, rtol: 0, atol: 1e-4));
    }
}
