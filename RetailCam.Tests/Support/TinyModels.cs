using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;

namespace RetailCam.Tests.Support;

/// <summary>Real model folders at test size: a reduced-width VGG16 CAM network through the real save path.</summary>
public static class TinyModels
{
    public static readonly string[] Categories = ["Apparel/Tops/Shirt", "Apparel/Tops/Coat", "Apparel/Bottoms/Trouser", "Footwear/Sneaker"];

    public static string Save(string folder, long seed, IReadOnlyList<string>? categories = null, int inputSize = 64)
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        TorchSharp.torch.random.manual_seed(seed);
        categories ??= Categories;
        using var network = CamNetworkFactory.CreateNew(BackboneKind.Vgg16, categories.Count, headHiddenChannels: 8, backboneWidth: 0.0625);
        ModelFolder.Save(folder, network, ModelManifest.Describe(network, categories, inputSize));
        return folder;
    }
}
