using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Native;

namespace RetailCam.Tests.Models;

/// <summary>Reads the 63 MB ONNX file once for every test that needs the imported network.</summary>
public sealed class PretrainedResNet18Fixture : IDisposable
{
    public PretrainedResNet18Fixture()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        Model = PretrainedResNet18.Load();
    }

    public PretrainedResNet18 Model { get; }

    public void Dispose() => Model.Dispose();
}

[CollectionDefinition(Name)]
public sealed class PretrainedResNet18Collection : ICollectionFixture<PretrainedResNet18Fixture>
{
    public const string Name = "Pretrained ResNet18";
}
