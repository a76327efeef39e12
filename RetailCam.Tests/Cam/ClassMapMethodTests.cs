using RetailCam.Engine.Cam;
using RetailCam.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Tests.Cam;

public class ClassMapMethodTests
{
    public static TheoryData<string, int> MethodsAndSizes()
    {
        var data = new TheoryData<string, int>();
        foreach (var kind in ClassMapMethods.Names)
        foreach (var size in new[] { 16, 32, 56 })
            data.Add(kind, size);
        return data;
    }

    [Theory]
    [MemberData(nameof(MethodsAndSizes))]
    public void Every_method_gives_normalised_maps_at_feature_resolution_and_upsamples_to_the_image(string kind, int size)
    {
        using var scope = NewDisposeScope();
        var network = TinyNetworks.Create();
        network.eval();
        var images = TinyNetworks.Images(2, size);

        using var result = ClassMapMethods.Parse(kind).Compute(network, images, new ClassTarget([0, 2]));

        Assert.Equal(new long[] { 2, size / 4, size / 4 }, result.Maps.shape);
        Assert.Equal(new long[] { 2, 3 }, result.Logits.shape);
        Assert.True(result.Maps.isfinite().all().item<bool>());
        Assert.True(result.Maps.min().item<float>() >= 0f);
        Assert.True(result.Maps.max().item<float>() <= 1f + 1e-6f);
        var upsampled = result.Upsample(size, size + 8);
        Assert.Equal(new long[] { 2, size, size + 8 }, upsampled.shape);
    }

    [Fact]
    public void Grad_cam_channel_weights_equal_the_head_weights_of_the_class_with_a_gap_linear_head()
    {
        using var scope = NewDisposeScope();
        var network = TinyNetworks.Create(classes: 4);
        network.eval();
        var images = TinyNetworks.Images(3, 32);
        Tensor activations;
        using (no_grad())
            activations = network.ForwardWithActivations(images).Activations.detach();
        var cells = activations.shape[2] * activations.shape[3];

        for (long c = 0; c < 4; c++)
        {
            var leaf = activations.clone().requires_grad_(true);
            var logits = network.Head.Classify(leaf);
            var gradients = autograd.grad([ClassTarget.Same(c, 3).Score(logits)], [leaf])[0];
            var weights = GradCamMethod.WeightsFromGradients(gradients);
            // d logit_c / d A_k(i,j) = W[c,k] / (h·w) for global average pooling, so mean over (i,j)·(h·w) = W[c,k].
            var expected = network.Head.ClassWeights.detach()[c].expand(3, -1);
            Assert.True((weights * cells - expected).abs().max().item<float>() < 1e-5f);
            // The served path reads these gradients from the head instead of a backward pass.
            var fromHead = ClassMapMethod.HeadGradients(network.Head, ClassTarget.Same(c, 3), activations.shape[2], activations.shape[3]).expand_as(gradients);
            Assert.True((fromHead - gradients).abs().max().item<float>() < 1e-7f);
        }
    }

    [Fact]
    public void Grad_cam_and_cam_give_the_same_normalised_map_on_a_gap_linear_head()
    {
        using var scope = NewDisposeScope();
        var network = TinyNetworks.Create();
        network.eval();
        var images = TinyNetworks.Images(2, 32);
        var target = new ClassTarget([1, 0]);

        using var cam = new CamMethod().Compute(network, images, target);
        using var gradCam = new GradCamMethod().Compute(network, images, target);

        Assert.True((cam.Maps - gradCam.Maps).abs().max().item<float>() < 1e-4f);
    }

    [Fact]
    public void Cam_raw_map_mean_plus_bias_equals_the_logit()
    {
        using var scope = NewDisposeScope();
        var network = TinyNetworks.Create();
        network.eval();
        var images = TinyNetworks.Images(2, 32);
        using var result = new CamMethod().Compute(network, images, new ClassTarget([2, 1]));

        var means = result.RawMaps.mean([1, 2]);
        var bias = network.Head.ClassBias.detach().index_select(0, tensor(new long[] { 2, 1 }));
        var logits = result.Logits.gather(1, tensor(new long[] { 2, 1 }).unsqueeze(1)).squeeze(1);
        Assert.True((means + bias - logits).abs().max().item<float>() < 1e-4f);
    }

    [Theory]
    [InlineData("cam")]
    [InlineData("gradcam")]
    [InlineData("gradcam++")]
    public void Computing_a_map_mutates_neither_the_input_nor_the_parameters_gradients(string kind)
    {
        using var scope = NewDisposeScope();
        var network = TinyNetworks.Create();
        network.eval();
        var images = TinyNetworks.Images(2, 32);
        var before = images.clone();

        using var result = ClassMapMethods.Parse(kind).Compute(network, images, new ClassTarget([0, 1]));

        Assert.Equal(0f, (images - before).abs().max().item<float>());
        Assert.False(images.requires_grad);
        Assert.All(network.parameters(), p => Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0f));
    }

    [Theory]
    [InlineData("cam")]
    [InlineData("gradcam++")]
    public void Hundred_computations_leave_no_live_tensors_behind(string kind)
    {
        var network = TinyNetworks.Create();
        network.eval();
        using var images = TinyNetworks.Images(2, 32);
        var method = ClassMapMethods.Parse(kind);
        var target = new ClassTarget([0, 1]);

        void Once()
        {
            using var scope = NewDisposeScope();
            using var result = method.Compute(network, images, target);
            using var up = result.Upsample(32, 32);
        }

        for (var i = 0; i < 5; i++) Once();
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 100; i++) Once();
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
