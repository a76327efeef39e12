using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

public sealed class PretrainedResNet18ModelFolderTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"retailcam-r18-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Pretrained_resnet18_cam_network_saves_and_loads_with_bit_identical_logits()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        using var scope = NewDisposeScope();
        using var network = CamNetworkFactory.CreatePretrainedResNet18(classCount: 3);
        network.eval();
        Assert.Equal(BackboneKind.ResNet18, network.Backbone.Kind);
        Assert.True(network.Normalization.Spec.UsesMeanImage);
        var images = rand(2, 3, 96, 96) * 255;
        using var noGrad = no_grad();
        var before = network.call(images);

        ModelFolder.Save(folder, network, ModelManifest.Describe(network, ["A/x", "A/y", "B"], inputSize: 96));
        using var loaded = ModelFolder.Load(folder);
        loaded.Network.eval();
        var after = loaded.Network.call(images);

        Assert.Equal(new long[] { 2, 3 }, after.shape);
        Assert.Equal(before.data<float>().ToArray(), after.data<float>().ToArray());
    }
}
