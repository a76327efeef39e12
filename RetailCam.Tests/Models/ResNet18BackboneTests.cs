using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Import;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

[Collection(PretrainedResNet18Collection.Name)]
public class ResNet18BackboneTests(PretrainedResNet18Fixture fixture)
{
    private PretrainedResNet18 Model => fixture.Model;

    [Fact]
    public void Cam_backbone_gives_256_channels_at_14_by_14_for_a_224_image()
    {
        var backbone = Model.Backbone;
        Assert.Equal(ResNet18Options.Cam(ResNet18CamTrunk.Layer3), backbone.Options);
        Assert.Equal(256, backbone.FeatureChannels);
        Assert.Equal(16, backbone.FeatureStride);
        Assert.Equal(BackboneKind.ResNet18, backbone.Kind);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = backbone.call(randn(2, 3, 224, 224) * 50f);
        Assert.Equal([2L, 256L, 14L, 14L], output.shape);
    }

    [Fact]
    public void Cam_backbone_computes_the_same_layer3_features_as_the_full_network()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = Model.Normalization.call(SyntheticPhoto.Create(seed: 11));
        var expected = Model.Features.StageOutputs(input)[3];
        var actual = Model.Backbone.call(input);
        Assert.Equal(0f, (actual - expected).abs().max().item<float>());
    }

    [Fact]
    public void Every_variant_keeps_the_torchvision_tensor_names_that_saved_model_folders_hold()
    {
        static IEnumerable<string> ConvBatchNorm(string conv, string batchNorm) =>
            new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }.Select(n => $"{batchNorm}.{n}").Prepend($"{conv}.weight");
        static List<string> Expected(int stages)
        {
            var names = ConvBatchNorm("conv1", "bn1").ToList();
            int[] blocks = [2, 2, 2, 3];
            for (var s = 0; s < stages; s++)
            {
                for (var b = 0; b < blocks[s]; b++)
                {
                    var prefix = $"layer{s + 1}.{b}";
                    names.AddRange(ConvBatchNorm($"{prefix}.conv1", $"{prefix}.bn1"));
                    names.AddRange(ConvBatchNorm($"{prefix}.conv2", $"{prefix}.bn2"));
                    if (s > 0 && b == 0) names.AddRange(ConvBatchNorm($"{prefix}.downsample.0", $"{prefix}.downsample.1"));
                }
            }
            return names.Order(StringComparer.Ordinal).ToList();
        }

        using var dilated = Model.CreateBackbone(ResNet18CamTrunk.DilatedLayer4);
        Assert.Equal(Expected(3), Model.Backbone.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Expected(4), dilated.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Expected(4), Model.Features.state_dict().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Dilated_layer4_backbone_gives_512_channels_at_14_by_14_for_a_224_image()
    {
        using var backbone = Model.CreateBackbone(ResNet18CamTrunk.DilatedLayer4);
        Assert.Equal(512, backbone.FeatureChannels);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = backbone.call(randn(1, 3, 224, 224) * 50f);
        Assert.Equal([1L, 512L, 14L, 14L], output.shape);
    }

    [Fact]
    public void Frozen_batchnorm_statistics_stay_as_pretrained_through_a_training_step_while_every_weight_still_learns()
    {
        using var backbone = Model.CreateBackbone(ResNet18CamTrunk.Layer3);
        backbone.FreezeBatchNormStatistics();
        using var normalization = new InputNormalization(Model.Normalization.Spec, Model.MeanImage);
        using var head = new CamHead(backbone.FeatureChannels, 16, 3);
        using var network = new CamNetwork(normalization, backbone, head);
        network.train();
        Assert.All(backbone.modules().OfType<BatchNorm2d>(), bn => Assert.False(bn.training));
        Assert.All(backbone.parameters(), p => Assert.True(p.requires_grad));

        var statistics = backbone.named_buffers().Where(b => b.name.EndsWith("running_mean", StringComparison.Ordinal)).ToDictionary(b => b.name, b => b.buffer.clone());
        try
        {
            using var optimizer = optim.SGD(network.parameters(), 0.01);
            using (var scope = NewDisposeScope())
            {
                var images = cat([SyntheticPhoto.Create(seed: 3), SyntheticPhoto.Create(seed: 4)], 0);
                var loss = nn.functional.cross_entropy(network.call(images), tensor(new long[] { 1, 2 }));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
            foreach (var (name, buffer) in backbone.named_buffers().Where(b => statistics.ContainsKey(b.name)))
                Assert.True(buffer.allclose(statistics[name], rtol: 0, atol: 0), $"{name} moved");
        }
        finally
        {
            foreach (var value in statistics.Values) value.Dispose();
        }
    }

    [Fact]
    public void Frozen_early_layers_get_no_gradient_and_keep_their_batchnorm_statistics_in_a_training_step()
    {
        using var backbone = Model.CreateBackbone(ResNet18CamTrunk.Layer3);
        backbone.FreezeEarlyLayers();
        using var normalization = new InputNormalization(Model.Normalization.Spec, Model.MeanImage);
        using var head = new CamHead(backbone.FeatureChannels, 16, 3);
        using var network = new CamNetwork(normalization, backbone, head);
        // The trainer switches the whole network, not the backbone: the frozen layers must survive that.
        network.eval();
        network.train();

        var parameters = backbone.named_parameters().ToList();
        static bool IsEarly(string name) => name.StartsWith("conv1.", StringComparison.Ordinal) || name.StartsWith("bn1.", StringComparison.Ordinal) || name.StartsWith("layer1.", StringComparison.Ordinal);
        Assert.All(parameters.Where(p => IsEarly(p.name)), p => Assert.False(p.parameter.requires_grad, p.name));
        Assert.All(parameters.Where(p => !IsEarly(p.name)), p => Assert.True(p.parameter.requires_grad, p.name));

        var batchNorms = backbone.named_modules().Where(m => m.module is BatchNorm2d).ToList();
        Assert.All(batchNorms, m => Assert.Equal(!IsEarly(m.name + "."), m.module.training));

        var buffers = backbone.named_buffers().Where(b => !b.name.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
        var before = buffers.ToDictionary(b => b.name, b => b.buffer.clone());
        var weightsBefore = parameters.Where(p => IsEarly(p.name)).ToDictionary(p => p.name, p => p.parameter.detach().clone());
        try
        {
            using var optimizer = optim.SGD(network.parameters().Where(p => p.requires_grad), 0.01);
            using (var scope = NewDisposeScope())
            {
                var images = cat([SyntheticPhoto.Create(seed: 1), SyntheticPhoto.Create(seed: 2)], 0);
                var loss = nn.functional.cross_entropy(network.call(images), tensor(new long[] { 0, 2 }));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }

            Assert.All(parameters.Where(p => IsEarly(p.name)), p => Assert.Null(p.parameter.grad));
            Assert.All(parameters.Where(p => p.name.StartsWith("layer3.", StringComparison.Ordinal)), p => Assert.NotNull(p.parameter.grad));
            foreach (var (name, weight) in weightsBefore)
                Assert.True(weight.eq(parameters.Single(p => p.name == name).parameter).all().item<bool>(), name);

            foreach (var (name, buffer) in buffers)
            {
                var unchanged = before[name].eq(buffer).all().item<bool>();
                // The trainable BatchNorm layers did update: the comparison can tell.
                Assert.True(IsEarly(name) == unchanged, $"{name}: {(unchanged ? "unchanged" : "changed")}");
            }
        }
        finally
        {
            foreach (var t in before.Values.Concat(weightsBefore.Values)) t.Dispose();
        }
    }
}
