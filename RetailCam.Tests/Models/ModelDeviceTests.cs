using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

public sealed class ModelDeviceTests : IDisposable
{
    private static readonly string[] Categories = ["A/x", "A/y", "B"];

    private readonly TemporaryFolder temporary = new();

    public ModelDeviceTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    public void Dispose() => temporary.Dispose();

    // libtorch's meta device holds shapes and no data: a network built on the CPU by mistake shows up
    // there, on a machine with no GPU, where a CPU-only check could never tell.
    public static TheoryData<string> Devices => ["cpu", "meta"];

    private static Device DeviceNamed(string name) => name == "cpu" ? CPU : new Device(DeviceType.META);

    internal static void AssertEverythingOn(Device device, nn.Module module)
    {
        var tensors = module.named_parameters().Select(p => (p.name, tensor: (Tensor)p.parameter))
            .Concat(module.named_buffers().Select(b => (b.name, tensor: b.buffer))).ToList();
        Assert.NotEmpty(tensors);
        Assert.All(tensors, t =>
        {
            Assert.True(t.tensor.device_type == device.type, $"{t.name} is on {t.tensor.device}, not {device}");
            Assert.Equal(device.index, t.tensor.device_index);
        });
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void A_new_network_of_either_backbone_is_built_on_the_device_given(string name)
    {
        var device = DeviceNamed(name);
        using (var vgg = CamNetworkFactory.CreateNew(BackboneKind.Vgg16, 3, headHiddenChannels: 8, backboneWidth: 1.0 / 16, device: device))
            AssertEverythingOn(device, vgg);
        using (var resnet = CamNetworkFactory.CreateNew(BackboneKind.ResNet18, 3, headHiddenChannels: 8, device: device))
            AssertEverythingOn(device, resnet);
    }

    [Theory]
    [MemberData(nameof(Devices))]
    public void A_model_folder_loads_onto_the_device_given_mean_image_included(string name)
    {
        var device = DeviceNamed(name);
        var folder = temporary.File("model");
        using (var network = CamNetworkFactory.CreatePretrainedResNet18(Categories.Length, headHiddenChannels: 8))
            ModelFolder.Save(folder, network, ModelManifest.Describe(network, Categories, inputSize: 64));

        using var loaded = ModelFolder.Load(folder, device);

        Assert.True(loaded.Network.Normalization.Spec.UsesMeanImage);
        AssertEverythingOn(device, loaded.Network);
    }

    [Fact]
    public void The_pretrained_network_from_the_factory_sits_on_the_device_given()
    {
        var device = new Device(DeviceType.META);
        using var network = CamNetworkFactory.CreatePretrainedResNet18(Categories.Length, headHiddenChannels: 8, device: device);
        AssertEverythingOn(device, network);
    }

    [Fact]
    public void The_imported_resnet18_and_every_backbone_made_from_it_sit_on_the_device_given()
    {
        var device = new Device(DeviceType.META);
        using var model = PretrainedResNet18.Load(device: device);
        AssertEverythingOn(device, model.Features);
        AssertEverythingOn(device, model.Backbone);
        AssertEverythingOn(device, model.Normalization);
        Assert.Equal(DeviceType.META, model.MeanImage.device_type);
        using var dilated = model.CreateBackbone(ResNet18CamTrunk.DilatedLayer4);
        AssertEverythingOn(device, dilated);
    }

    [Fact]
    public void A_vgg16_weights_file_loads_onto_the_device_given()
    {
        var path = temporary.File("vgg16.safetensors");
        using (var source = new Vgg16Backbone())
        using (var stream = File.Create(path))
            StateDictFiles.WriteSafetensors(stream, source.state_dict());
        var device = new Device(DeviceType.META);

        using var backbone = Vgg16WeightImporter.Load(path, device);

        AssertEverythingOn(device, backbone);
    }
}
