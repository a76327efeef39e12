using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Models.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>
/// Builds CAM networks by backbone kind, fresh for training or shaped by a manifest for loading, with
/// every parameter and buffer on the device asked for (CPU when none is given).
/// </summary>
public static class CamNetworkFactory
{
    /// <summary>
    /// Hidden channels of the head's conv layer: 1024 for VGG16 as in the CAM paper; 256 for
    /// ResNet18, whose trunk hands over 256 channels at stride 16.
    /// </summary>
    public static int DefaultHeadHiddenChannels(BackboneKind kind) => kind switch
    {
        BackboneKind.ResNet18 => 256,
        BackboneKind.Vgg16 => 1024,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown backbone."),
    };

    /// <summary>
    /// A randomly initialised backbone of the given kind. ResNet18 takes the preprocessing it was
    /// (or will be) trained with: the CNTK mean image for the pretrained weights, torchvision's otherwise.
    /// </summary>
    public static Backbone CreateBackbone(BackboneKind kind, double widthMultiplier = 1.0, PreprocessingSpec? preprocessing = null,
        ResNet18CamTrunk trunk = PretrainedResNet18.DefaultCamTrunk) => kind switch
    {
        BackboneKind.Vgg16 => new Vgg16Backbone(widthMultiplier),
        BackboneKind.ResNet18 when widthMultiplier != 1.0 =>
            throw new ArgumentOutOfRangeException(nameof(widthMultiplier), widthMultiplier, "ResNet18 comes in full width only."),
        BackboneKind.ResNet18 => new ResNet18(ResNet18Options.Cam(trunk), preprocessing ?? PreprocessingSpec.TorchvisionImageNet),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown backbone."),
    };

    /// <summary>
    /// The offline default: ImageNet ResNet18 from the shipped ONNX file (trunk to layer3, 14×14 at
    /// 224²) with its exact CNTK preprocessing, and a fresh CAM head for the catalogue's classes.
    /// </summary>
    public static CamNetwork CreatePretrainedResNet18(int classCount, string? pretrainedFolder = null, int? headHiddenChannels = null, Device? device = null,
        ResNet18CamTrunk trunk = PretrainedResNet18.DefaultCamTrunk)
    {
        // Imported on the CPU: only the CAM trunk's copy of the weights goes on to the device.
        using var pretrained = PretrainedResNet18.Load(pretrainedFolder);
        var backbone = pretrained.CreateBackbone(trunk);
        return Assemble(backbone, () => new InputNormalization(pretrained.Normalization.Spec, pretrained.MeanImage),
            headHiddenChannels ?? DefaultHeadHiddenChannels(BackboneKind.ResNet18), classCount, device);
    }

    /// <summary>A network to train from scratch, normalising its input as its backbone expects.</summary>
    public static CamNetwork CreateNew(BackboneKind kind, int classCount, int? headHiddenChannels = null, double backboneWidth = 1.0, Device? device = null)
    {
        var backbone = CreateBackbone(kind, backboneWidth);
        return Assemble(backbone, () => new InputNormalization(backbone.Preprocessing),
            headHiddenChannels ?? DefaultHeadHiddenChannels(kind), classCount, device);
    }

    /// <summary>
    /// A network with the architecture a manifest describes, randomly initialised: the shape that
    /// the folder's weights are loaded into (<c>ModelFolder.Load</c>).
    /// </summary>
    /// <param name="meanImage">[3,H,W], required when the manifest's preprocessing uses a mean image; the weights overwrite it.</param>
    public static CamNetwork Create(ModelManifest manifest, Tensor? meanImage = null, Device? device = null)
    {
        var problems = manifest.Problems();
        if (problems.Count > 0)
            throw new ArgumentException("Invalid manifest: " + string.Join(" ", problems), nameof(manifest));
        var backbone = CreateBackbone(manifest.Backbone, manifest.BackboneWidth, manifest.Preprocessing, manifest.Trunk);
        return Assemble(backbone, () => new InputNormalization(manifest.Preprocessing, meanImage),
            manifest.HeadHiddenChannels, manifest.Categories.Count, device);
    }

    private static CamNetwork Assemble(Backbone backbone, Func<InputNormalization> normalization, int hiddenChannels, int classCount, Device? device)
    {
        InputNormalization? input = null;
        CamHead? head = null;
        CamNetwork? network = null;
        try
        {
            input = normalization();
            head = new CamHead(backbone.FeatureChannels, hiddenChannels, classCount);
            network = new CamNetwork(input, backbone, head);
            network.to(device ?? CPU);
            return network;
        }
        catch
        {
            if (network is not null)
            {
                network.Dispose();
            }
            else
            {
                head?.Dispose();
                input?.Dispose();
                backbone.Dispose();
            }
            throw;
        }
    }
}
