using RetailCam.Engine.Cam;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using RetailCam.Tests.Imaging;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

public sealed class BatchNormFoldingTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string Folder => temporary.File("model");

    public void Dispose() => temporary.Dispose();

    [Fact]
    public void A_folded_conv_computes_what_conv_then_batchnorm_computed_in_eval_mode()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var conv = nn.Conv2d(4, 6, 3, padding: 1, bias: true);
        var batchNorm = nn.BatchNorm2d(6, eps: 1e-3);
        using (no_grad())
        {
            batchNorm.running_mean!.copy_(randn(6));
            batchNorm.running_var!.copy_(rand(6) * 3 + 0.1);
            batchNorm.weight!.copy_(randn(6));
            batchNorm.bias!.copy_(randn(6));
        }
        batchNorm.eval();
        var input = randn(2, 4, 9, 9);
        using var noGrad = no_grad();
        var expected = batchNorm.call(conv.call(input));

        BatchNormFolding.Fold(conv, batchNorm);

        Assert.True(conv.call(input).allclose(expected, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void The_pretrained_resnet18_gives_the_same_logits_and_class_maps_folded_and_refuses_to_train()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        using (var network = CamNetworkFactory.CreatePretrainedResNet18(classCount: 3))
            ModelFolder.Save(Folder, network, ModelManifest.Describe(network, ["A/x", "A/y", "B"], inputSize: 96));
        using var scope = NewDisposeScope();
        using var plain = ModelFolder.Load(Folder);
        using var folded = ModelFolder.Load(Folder);
        plain.Network.eval();
        folded.Network.eval();
        folded.Network.FoldBatchNorm();
        Assert.True(folded.Network.Backbone.BatchNormFolded);

        var images = rand(2, 3, 96, 96) * 255;
        using (no_grad())
        {
            var expected = plain.Network.call(images);
            var actual = folded.Network.call(images);
            Assert.True(actual.allclose(expected, rtol: 1e-3, atol: 1e-3), $"max |diff| {(actual - expected).abs().max().item<float>()}");
        }
        // Grad-CAM differentiates with respect to activations, which folding leaves as they were.
        var target = new ClassTarget([1, 2]);
        using var plainMaps = ClassMapMethods.GradCam.Compute(plain.Network, images, target);
        using var foldedMaps = ClassMapMethods.GradCam.Compute(folded.Network, images, target);
        Assert.True(foldedMaps.Maps.allclose(plainMaps.Maps, rtol: 1e-3, atol: 1e-3));

        Assert.Throws<InvalidOperationException>(() => folded.Network.train());
    }

    [Fact]
    public async Task The_predictor_answers_alike_with_and_without_folding()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        using (var network = CamNetworkFactory.CreatePretrainedResNet18(classCount: 3))
            ModelFolder.Save(Folder, network, ModelManifest.Describe(network, ["A/x", "A/y", "B"], inputSize: 64));
        using var photo = TestImages.Coordinates(90, 70);
        using var folding = Predictor.ForFolder(Folder, new PredictorOptions { Precision = InferencePrecision.Float32 }, CPU);
        using var notFolding = Predictor.ForFolder(Folder, new PredictorOptions { Precision = InferencePrecision.Float32, FoldBatchNorm = false }, CPU);

        var a = await folding.PredictAsync(photo, "p");
        var b = await notFolding.PredictAsync(photo, "p");

        for (var c = 0; c < 3; c++) Assert.Equal(b.Probabilities[c], a.Probabilities[c], 3);
        Assert.Equal(b.Maps[0].Values.Length, a.Maps[0].Values.Length);
        for (var i = 0; i < a.Maps[0].Values.Length; i++) Assert.Equal(b.Maps[0].Values[i], a.Maps[0].Values[i], 2);
    }
}
