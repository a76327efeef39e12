using RetailCam.Engine.Models;
using RetailCam.Engine.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Tests.Support;

/// <summary>A two-conv trunk of stride 4: small enough for unit tests, shaped like a real backbone.</summary>
public sealed class TinyBackbone : Backbone
{
    private readonly Sequential layers;

    public TinyBackbone(int channels = 8) : base(nameof(TinyBackbone))
    {
        FeatureChannels = channels;
        layers = nn.Sequential(
            nn.Conv2d(3, channels, 3, stride: 2, padding: 1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride: 2, padding: 1), nn.ReLU());
        RegisterComponents();
    }

    public override BackboneKind Kind => BackboneKind.ResNet18;
    public override int FeatureChannels { get; }
    public override int FeatureStride => 4;
    public override PreprocessingSpec Preprocessing => PreprocessingSpec.TorchvisionImageNet;

    public override Tensor forward(Tensor input) => layers.call(input);
}

public static class TinyNetworks
{
    public static CamNetwork Create(int classes = 3, int channels = 8, int hidden = 6, long seed = 7)
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        random.manual_seed(seed);
        var backbone = new TinyBackbone(channels);
        return new CamNetwork(new InputNormalization(backbone.Preprocessing), backbone, new CamHead(channels, hidden, classes));
    }

    /// <summary>RGB 0–255 images, deterministic by seed.</summary>
    public static Tensor Images(int batch, int size, long seed = 11)
    {
        var generator = new Generator((ulong)seed);
        return rand([batch, 3, size, size], generator: generator) * 255f;
    }
}
