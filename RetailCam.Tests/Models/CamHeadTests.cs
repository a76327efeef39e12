using RetailCam.Engine.Models;
using RetailCam.Engine.Native;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

public class CamHeadTests
{
    private const int Classes = 5;

    public CamHeadTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    /// <summary>Features from a real (reduced-width) VGG16 trunk, so the head sees ReLU'd, spatially varied maps.</summary>
    private static Tensor VggFeatures(Vgg16Backbone backbone, int batch, int height, int width)
    {
        using var _ = no_grad();
        return backbone.call(rand(batch, 3, height, width));
    }

    [Fact]
    public void Spatial_mean_of_every_class_map_plus_its_bias_equals_its_logit()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var backbone = new Vgg16Backbone(widthMultiplier: 1.0 / 16);
        using var head = new CamHead(backbone.FeatureChannels, hiddenChannels: 16, classCount: Classes);
        var features = VggFeatures(backbone, batch: 2, height: 64, width: 80);
        Assert.Equal([2L, 32, 4, 5], features.shape);

        using var _ = no_grad();
        var activations = head.Activations(features);
        var logits = head.Classify(activations);
        Assert.Equal([2L, Classes], logits.shape);

        for (var c = 0; c < Classes; c++)
        {
            var map = head.ClassMaps(activations, [c]);
            Assert.Equal([2L, 1, 4, 5], map.shape);
            // The identity only says something if the map actually varies over space.
            Assert.True(map.std().item<float>() > 1e-3f, $"class {c} map is flat");
            var reconstructed = map.mean([2, 3]).squeeze(1) + head.ClassBias[c];
            var error = (reconstructed - logits[.., c]).abs().max().item<float>();
            Assert.True(error < 1e-4f, $"class {c}: |mean(map) + b - logit| = {error}");
        }
    }

    [Fact]
    public void Class_maps_have_one_channel_per_requested_class_in_request_order()
    {
        using var scope = NewDisposeScope();
        using var backbone = new Vgg16Backbone(widthMultiplier: 1.0 / 16);
        using var head = new CamHead(backbone.FeatureChannels, hiddenChannels: 8, classCount: Classes);
        using var _ = no_grad();
        var activations = head.Activations(VggFeatures(backbone, batch: 3, height: 48, width: 32));

        var maps = head.ClassMaps(activations, [3, 0]);

        Assert.Equal([3L, 2, 3, 2], maps.shape);
        Assert.True(TensorBits.Identical(head.ClassMaps(activations, [3])[.., 0], maps[.., 0].contiguous()));
        Assert.True(TensorBits.Identical(head.ClassMaps(activations, [0])[.., 0], maps[.., 1].contiguous()));
        Assert.False(TensorBits.Identical(maps[.., 0].contiguous(), maps[.., 1].contiguous()));
    }

    [Fact]
    public void Cam_network_gives_one_logit_per_category_and_the_same_logits_with_activations()
    {
        using var scope = NewDisposeScope();
        using var network = CamNetworkFactory.CreateNew(BackboneKind.Vgg16, classCount: Classes, headHiddenChannels: 8, backboneWidth: 1.0 / 16);
        network.eval();
        using var _ = no_grad();
        var images = rand(3, 3, 48, 64) * 255;

        var logits = network.call(images);
        using var both = network.ForwardWithActivations(images);

        Assert.Equal([3L, Classes], logits.shape);
        Assert.Equal([3L, 8, 3, 4], both.Activations.shape);
        Assert.True(TensorBits.Identical(logits, both.Logits));
    }

    [Fact]
    public void New_vgg16_network_has_the_cam_paper_head_of_1024_channels_on_512_features()
    {
        using var network = CamNetworkFactory.CreateNew(BackboneKind.Vgg16, classCount: 3);

        Assert.Equal(1024, network.Head.HiddenChannels);
        Assert.Equal(512, network.Head.InChannels);
        Assert.Equal(3, network.Head.ClassCount);
        Assert.Same(PreprocessingSpec.TorchvisionImageNet, network.Normalization.Spec);
        Assert.Equal(256, CamNetworkFactory.DefaultHeadHiddenChannels(BackboneKind.ResNet18));
    }
}
