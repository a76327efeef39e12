using RetailCam.Engine.Models.Storage;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>Builds CAM networks by backbone kind, fresh for training or shaped by a manifest for loading.</summary>
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

    /// <summary>A randomly initialised backbone of the given kind.</summary>
    public static Backbone CreateBackbone(BackboneKind kind, double widthMultiplier = 1.0) => kind switch
    {
        BackboneKind.Vgg16 => new Vgg16Backbone(widthMultiplier),
        BackboneKind.ResNet18 when widthMultiplier != 1.0 =>
            throw new ArgumentOutOfRangeException(nameof(widthMultiplier), widthMultiplier, "ResNet18 comes in full width only."),
        // MERGE(feat/resnet18): replace this line with `new ResNet18Backbone(),`.
        BackboneKind.ResNet18 => throw new NotSupportedException("merged later"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown backbone."),
    };

    /// <summary>A network to train from scratch, normalising its input as its backbone expects.</summary>
    public static CamNetwork CreateNew(BackboneKind kind, int classCount, int? headHiddenChannels = null, double backboneWidth = 1.0)
    {
        var backbone = CreateBackbone(kind, backboneWidth);
        return Assemble(backbone, () => new InputNormalization(backbone.Preprocessing),
            headHiddenChannels ?? DefaultHeadHiddenChannels(kind), classCount);
    }

    /// <summary>
    /// A network with the architecture a manifest describes, randomly initialised: the shape that
    /// the folder's weights are loaded into (<see cref="ModelFolder.Load"/>).
    /// </summary>
    /// <param name="meanImage">[3,H,W], required when the manifest's preprocessing uses a mean image; the weights overwrite it.</param>
    public static CamNetwork Create(ModelManifest manifest, Tensor? meanImage = null)
    {
        var problems = manifest.Problems();
        if (problems.Count > 0)
            throw new ArgumentException("Invalid manifest: " + string.Join(" ", problems), nameof(manifest));
        var backbone = CreateBackbone(manifest.Backbone, manifest.BackboneWidth);
        return Assemble(backbone, () => new InputNormalization(manifest.Preprocessing, meanImage),
            manifest.HeadHiddenChannels, manifest.Categories.Count);
    }

    private static CamNetwork Assemble(Backbone backbone, Func<InputNormalization> normalization, int hiddenChannels, int classCount)
    {
        InputNormalization? input = null;
        CamHead? head = null;
        try
        {
            input = normalization();
            head = new CamHead(backbone.FeatureChannels, hiddenChannels, classCount);
            return new CamNetwork(input, backbone, head);
        }
        catch
        {
            head?.Dispose();
            input?.Dispose();
            backbone.Dispose();
            throw;
        }
    }
}
