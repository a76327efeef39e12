using RetailCam.Engine.Models;
using RetailCam.Engine.Native;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

public class Vgg16BackboneTests
{
    public Vgg16BackboneTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    // torchvision.models.vgg16().features: conv layers and their weight shapes, the contract for key-for-key import.
    public static readonly (int Index, long[] Shape)[] TorchvisionConvLayers =
    [
        (0, [64, 3, 3, 3]), (2, [64, 64, 3, 3]),
        (5, [128, 64, 3, 3]), (7, [128, 128, 3, 3]),
        (10, [256, 128, 3, 3]), (12, [256, 256, 3, 3]), (14, [256, 256, 3, 3]),
        (17, [512, 256, 3, 3]), (19, [512, 512, 3, 3]), (21, [512, 512, 3, 3]),
        (24, [512, 512, 3, 3]), (26, [512, 512, 3, 3]), (28, [512, 512, 3, 3]),
    ];

    [Fact]
    public void Full_width_state_dict_has_torchvision_feature_keys_and_shapes()
    {
        using var backbone = new Vgg16Backbone();
        var state = backbone.state_dict();

        var expected = TorchvisionConvLayers
            .SelectMany(layer => new[] { $"features.{layer.Index}.weight", $"features.{layer.Index}.bias" })
            .ToHashSet();
        Assert.Equal(expected, state.Keys.ToHashSet());
        foreach (var (index, shape) in TorchvisionConvLayers)
        {
            Assert.Equal(shape, state[$"features.{index}.weight"].shape);
            Assert.Equal([shape[0]], state[$"features.{index}.bias"].shape);
        }
        Assert.Equal(512, backbone.FeatureChannels);
        Assert.Equal(BackboneKind.Vgg16, backbone.Kind);
        Assert.Same(PreprocessingSpec.TorchvisionImageNet, backbone.Preprocessing);
    }

    [Fact]
    public void A_224_pixel_image_gives_a_14_by_14_map_of_512_channels()
    {
        using var backbone = new Vgg16Backbone();
        backbone.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();

        var features = backbone.call(rand(1, 3, 224, 224));

        Assert.Equal([1L, 512, 14, 14], features.shape);
        Assert.Equal(16, backbone.FeatureStride);
        // The trunk ends on a ReLU, not a max-pool.
        Assert.True(features.min().item<float>() >= 0f);
    }

    [Fact]
    public void Convolutions_start_with_torchvision_kaiming_fan_out_initialisation()
    {
        using var backbone = new Vgg16Backbone();
        var state = backbone.state_dict();

        // kaiming_normal_(mode="fan_out", nonlinearity="relu"): std = sqrt(2 / (out · 3 · 3)), biases zero.
        var weight = state["features.28.weight"];
        var expectedStd = Math.Sqrt(2.0 / (512 * 9));
        Assert.InRange(weight.std().item<float>(), expectedStd * 0.98, expectedStd * 1.02);
        Assert.InRange(Math.Abs(weight.mean().item<float>()), 0, expectedStd * 0.01);
        var firstStd = Math.Sqrt(2.0 / (64 * 9));
        Assert.InRange(state["features.0.weight"].std().item<float>(), firstStd * 0.9, firstStd * 1.1);
        Assert.All(TorchvisionConvLayers, layer => Assert.Equal(0f, state[$"features.{layer.Index}.bias"].abs().max().item<float>()));
    }

    [Fact]
    public void Width_multiplier_scales_every_layer_and_keeps_the_layout()
    {
        using var backbone = new Vgg16Backbone(widthMultiplier: 1.0 / 16);
        using var scope = NewDisposeScope();
        var state = backbone.state_dict();

        Assert.Equal(26, state.Count);
        Assert.Equal([4L, 3, 3, 3], state["features.0.weight"].shape);
        Assert.Equal([32L, 32, 3, 3], state["features.28.weight"].shape);
        Assert.Equal(32, backbone.FeatureChannels);
        Assert.Equal([2L, 32, 4, 3], backbone.call(rand(2, 3, 64, 48)).shape);
    }

    [Fact]
    public void Freezing_early_layers_stops_gradients_of_the_first_two_blocks_only()
    {
        using var backbone = new Vgg16Backbone(widthMultiplier: 1.0 / 16);
        backbone.FreezeEarlyLayers();

        foreach (var (name, parameter) in backbone.named_parameters())
        {
            var index = int.Parse(name.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(index >= 10, parameter.requires_grad);
        }

        using var scope = NewDisposeScope();
        backbone.call(rand(1, 3, 32, 32)).sum().backward();
        var parameters = backbone.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Null(parameters["features.7.weight"].grad);
        Assert.True(parameters["features.10.weight"].grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Width_multiplier_outside_zero_to_one_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Vgg16Backbone(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Vgg16Backbone(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Vgg16Backbone(double.NaN));
    }
}
