using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Import;

/// <summary>
/// The ImageNet ResNet18 of Microsoft.ML.DnnImageFeaturizer.ResNet18, imported into TorchSharp:
/// the full 512-d feature network (for parity with the file), a CAM backbone with the same weights,
/// and the input normalisation the weights were trained with.
/// </summary>
public sealed class PretrainedResNet18 : IDisposable
{
    private PretrainedResNet18(PretrainedResNet18Files files, ResNetOnnxGraph graph, IReadOnlyDictionary<string, string> mapping,
        ResNet18 features, ResNet18 backbone, InputNormalization normalization, Tensor meanImage)
    {
        Files = files;
        Graph = graph;
        TensorMapping = mapping;
        Features = features;
        Backbone = backbone;
        Normalization = normalization;
        MeanImage = meanImage;
    }

    /// <summary>The trunk used for class maps unless a caller asks otherwise: see <see cref="ResNet18CamTrunk.Layer3"/>.</summary>
    public const ResNet18CamTrunk DefaultCamTrunk = ResNet18CamTrunk.Layer3;

    public PretrainedResNet18Files Files { get; }

    /// <summary>The structure read from the ONNX file (stage and block tensors, for per-stage comparisons).</summary>
    public ResNetOnnxGraph Graph { get; }

    /// <summary>Every initializer of the file and the torchvision-named tensor it was loaded into.</summary>
    public IReadOnlyDictionary<string, string> TensorMapping { get; }

    /// <summary>Stem to layer4 and global average pooling, [B,3,224,224] → [B,512]: what the ONNX file computes.</summary>
    public ResNet18 Features { get; }

    /// <summary>The CAM backbone, with its own copy of the weights (training it leaves <see cref="Features"/> as imported).</summary>
    public ResNet18 Backbone { get; }

    /// <summary>RGB 0–255 → BGR minus the mean image, as ResNetPreprocess.onnx does.</summary>
    public InputNormalization Normalization { get; }

    /// <summary>The per-pixel mean image, [3,224,224], BGR, 0–255.</summary>
    public Tensor MeanImage { get; }

    /// <summary>The device every network, buffer and the mean image of this import sit on.</summary>
    public Device Device => MeanImage.device;

    /// <summary>
    /// Reads both files from <paramref name="folder"/> (default: <c>pretrained/</c> beside the application)
    /// and places the imported networks on <paramref name="device"/> (CPU when null).
    /// Throws <see cref="PretrainedFileNotFoundException"/> or <see cref="PretrainedModelFormatException"/>.
    /// TorchSharp must be initialised first (<see cref="Native.TorchRuntime.Initialize"/>).
    /// </summary>
    public static PretrainedResNet18 Load(string? folder = null, ResNet18CamTrunk camTrunk = DefaultCamTrunk, Device? device = null)
    {
        var files = PretrainedResNet18Files.Locate(folder);
        var meanImage = CntkMeanImage.Read(files.PreprocessingPath);
        var owned = new List<IDisposable> { meanImage };
        try
        {
            var graph = ResNetOnnxGraph.Read(files.ModelPath);
            float[] channelMeans;
            using (var means = meanImage.mean([1, 2])) channelMeans = means.data<float>().ToArray();
            var spec = PreprocessingSpec.CntkBgrMeanImage(channelMeans);

            var features = new ResNet18(ResNet18Options.ImageNetFeatures, spec);
            owned.Add(features);
            var mapping = ResNet18OnnxWeights.LoadInto(graph, features);
            features.eval();
            var normalization = new InputNormalization(spec, meanImage);
            owned.Add(normalization);
            var backbone = CamTrunk(features, camTrunk);
            owned.Add(backbone);
            if (device is not null)
            {
                features.to(device);
                normalization.to(device);
                backbone.to(device);
                var moved = meanImage.to(device);
                meanImage.Dispose();
                owned[0] = meanImage = moved;
            }
            return new PretrainedResNet18(files, graph, mapping, features, backbone, normalization, meanImage);
        }
        catch
        {
            foreach (var item in owned) item.Dispose();
            throw;
        }
    }

    /// <summary>A fresh CAM backbone with the imported weights on <see cref="Device"/> (each call an independent copy).</summary>
    public ResNet18 CreateBackbone(ResNet18CamTrunk trunk) => CamTrunk(Features, trunk);

    private static ResNet18 CamTrunk(ResNet18 features, ResNet18CamTrunk trunk)
    {
        var backbone = new ResNet18(ResNet18Options.Cam(trunk), features.Preprocessing);
        try
        {
            backbone.to(features.parameters().First().device);
            backbone.CopyWeightsFrom(features);
            backbone.eval();
            return backbone;
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Features.Dispose();
        Backbone.Dispose();
        Normalization.Dispose();
        MeanImage.Dispose();
    }
}
