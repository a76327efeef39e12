using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>
/// VGG16 (Simonyan and Zisserman 2014, configuration D) as the CAM paper used it: the conv trunk
/// without the fifth max-pool, so a 224² image gives a 14×14×512 map (stride 16).
/// </summary>
/// <remarks>
/// The layers live in a Sequential named <c>features</c> whose child indices are torchvision's
/// (<c>features.0</c> … <c>features.29</c>; conv layers at 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24,
/// 26, 28), so a torchvision <c>vgg16</c> state dict maps key for key. torchvision's index 30 is the
/// dropped max-pool and holds no weights.
/// </remarks>
public sealed class Vgg16Backbone : Backbone
{
    private const int MaxPool = 0;

    // torchvision's cfgs["D"] without its final "M": 0 marks a 2×2 max-pool.
    private static readonly int[] Configuration =
        [64, 64, MaxPool, 128, 128, MaxPool, 256, 256, 256, MaxPool, 512, 512, 512, MaxPool, 512, 512, 512];

    /// <summary>Indices inside <c>features</c> of the 13 conv layers, as in torchvision.</summary>
    public static IReadOnlyList<int> ConvLayerIndices { get; } = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];

    // The first two blocks run at full and half resolution, where gradients cost the most, and
    // learn generic edges and textures that transfer unchanged.
    private const int FirstUnfrozenIndex = 10;

    private readonly Sequential features;

    /// <param name="widthMultiplier">
    /// Scales every layer's channel count (rounded, at least 1). 1 is VGG16; smaller values give a
    /// VGG-shaped network with the same layer layout, for tests and quick experiments.
    /// </param>
    public Vgg16Backbone(double widthMultiplier = 1.0) : base(nameof(Vgg16Backbone))
    {
        if (!(widthMultiplier > 0 && widthMultiplier <= 1))
            throw new ArgumentOutOfRangeException(nameof(widthMultiplier), widthMultiplier, "The width multiplier must be in (0, 1].");
        WidthMultiplier = widthMultiplier;

        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var inChannels = 3;
        foreach (var entry in Configuration)
        {
            if (entry == MaxPool)
            {
                layers.Add((Name(layers.Count), nn.MaxPool2d(kernel_size: 2, stride: 2)));
                continue;
            }
            var outChannels = ScaledChannels(entry, widthMultiplier);
            var conv = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
            using (no_grad())
            {
                // torchvision's VGG initialisation, so training from scratch behaves as it does there.
                nn.init.kaiming_normal_(conv.weight!, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                nn.init.zeros_(conv.bias!);
            }
            layers.Add((Name(layers.Count), conv));
            layers.Add((Name(layers.Count), nn.ReLU(inplace: true)));
            inChannels = outChannels;
        }
        features = nn.Sequential(layers.ToArray());
        FeatureChannels = inChannels;
        RegisterComponents();
    }

    public double WidthMultiplier { get; }

    public override BackboneKind Kind => BackboneKind.Vgg16;

    public override int FeatureChannels { get; }

    public override int FeatureStride => 16;

    public override PreprocessingSpec Preprocessing => PreprocessingSpec.TorchvisionImageNet;

    /// <summary>The torchvision-indexed layer stack (state-dict prefix <c>features.</c>).</summary>
    public Sequential Features => features;

    public override Tensor forward(Tensor input) => features.call(input);

    /// <summary>Freezes conv1_x and conv2_x (features.0 … features.9).</summary>
    public override void FreezeEarlyLayers()
    {
        foreach (var (name, parameter) in features.named_parameters())
        {
            var index = int.Parse(name[..name.IndexOf('.')], CultureInfo.InvariantCulture);
            if (index < FirstUnfrozenIndex) parameter.requires_grad = false;
        }
    }

    /// <summary>Channel count of a layer at the given width; the same rounding the constructor uses.</summary>
    public static int ScaledChannels(int fullWidthChannels, double widthMultiplier) =>
        Math.Max(1, (int)Math.Round(fullWidthChannels * widthMultiplier, MidpointRounding.AwayFromZero));

    private static string Name(int index) => index.ToString(CultureInfo.InvariantCulture);
}
