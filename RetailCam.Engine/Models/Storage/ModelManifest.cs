using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using static System.FormattableString;

namespace RetailCam.Engine.Models.Storage;

/// <summary>
/// <c>manifest.json</c> of a model folder: everything needed to rebuild the network that
/// <c>model.safetensors</c> fits, and to read its outputs (the categories in class order).
/// </summary>
public sealed record ModelManifest
{
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    public required BackboneKind Backbone { get; init; }

    /// <summary>Channel scale of the backbone; 1 except for reduced-width VGG16 test models.</summary>
    public double BackboneWidth { get; init; } = 1.0;

    public required int HeadHiddenChannels { get; init; }

    /// <summary>Where a ResNet18 trunk ends; manifests written before the choice existed are layer3 cuts.</summary>
    public ResNet18CamTrunk Trunk { get; init; } = ResNet18CamTrunk.Layer3;

    /// <summary>How logits become probabilities; manifests written before the sigmoid output are softmax.</summary>
    public ClassOutput Output { get; init; } = ClassOutput.Softmax;

    /// <summary>
    /// The side photos are served at unless configured otherwise: chosen after training as the one
    /// that gives the best class maps on scenes made from the validation photos (null: the training size).
    /// </summary>
    public int? ServeInputSize { get; init; }

    /// <summary>Logits are divided by this before the probabilities (temperature scaling, fitted on the validation split).</summary>
    public double Temperature { get; init; } = 1;

    /// <summary>A photo whose best category scores below this is "not one of your categories" (null: every photo gets an answer).</summary>
    public double? UnknownThreshold { get; init; }

    /// <summary>Side of the square input the model was trained at, in pixels.</summary>
    public required int InputSize { get; init; }

    public required PreprocessingSpec Preprocessing { get; init; }

    /// <summary>Category paths (<c>Apparel/Tops/Shirt</c>) in class order: logit i is category i.</summary>
    public required IReadOnlyList<string> Categories { get; init; }

    /// <summary>Training settings, free-form.</summary>
    public JsonObject Training { get; init; } = [];

    /// <summary>Evaluation results, free-form.</summary>
    public JsonObject Metrics { get; init; } = [];

    public DateTimeOffset CreatedUtc { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// SHA-256 (lower-case hex) of <c>model.safetensors</c>, set on save. It ties the two files of a
    /// folder together, so weights from another save are caught even when their shapes happen to fit.
    /// </summary>
    public string? WeightsSha256 { get; init; }

    /// <summary>A manifest describing <paramref name="network"/>; the caller supplies what the network does not know.</summary>
    public static ModelManifest Describe(CamNetwork network, IEnumerable<string> categories, int inputSize,
        JsonObject? training = null, JsonObject? metrics = null, ClassOutput output = ClassOutput.Softmax) => new()
    {
        Backbone = network.Backbone.Kind,
        BackboneWidth = network.Backbone is Vgg16Backbone vgg ? vgg.WidthMultiplier : 1.0,
        HeadHiddenChannels = network.Head.HiddenChannels,
        Trunk = network.Backbone is ResNet18 { Options: { LastStage: 4, DilateLayer4: true } } ? ResNet18CamTrunk.DilatedLayer4 : ResNet18CamTrunk.Layer3,
        Output = output,
        InputSize = inputSize,
        Preprocessing = network.Normalization.Spec,
        Categories = categories.ToList(),
        Training = training ?? [],
        Metrics = metrics ?? [],
    };

    /// <summary>
    /// The side a photo is served at: its own shorter side (to 16 px), so products keep the pixel scale
    /// they have in the photo, between the training side and <see cref="ServeInputSize"/>; the training
    /// side alone when the manifest sets no serving side (models from before it existed).
    /// </summary>
    public int ServeSideFor(int photoWidth, int photoHeight)
    {
        if (ServeInputSize is not { } largest || largest <= InputSize) return ServeInputSize ?? InputSize;
        var own = Math.Min(photoWidth, photoHeight) / 16 * 16;
        return Math.Clamp(own, InputSize, largest);
    }

    /// <summary>Probabilities from logits [B,C]: divided by the temperature, then sigmoid or softmax as the model was trained.</summary>
    public TorchSharp.torch.Tensor Probabilities(TorchSharp.torch.Tensor logits)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var scaled = Temperature == 1 ? logits : logits.div(Temperature);
        var probabilities = Output == ClassOutput.Sigmoid ? scaled.sigmoid() : scaled.softmax(1);
        return probabilities.MoveToOuterDisposeScope();
    }

    /// <summary>What is wrong with this manifest, in words a user can act on; empty when it is sound.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (FormatVersion != CurrentFormatVersion)
            problems.Add($"format version {FormatVersion} is not supported (this build reads version {CurrentFormatVersion}).");
        if (!Enum.IsDefined(Backbone))
            problems.Add($"backbone {(int)Backbone} is unknown.");
        if (!(BackboneWidth > 0 && BackboneWidth <= 1))
            problems.Add(Invariant($"backboneWidth {BackboneWidth} is not in (0, 1]."));
        else if (Backbone != BackboneKind.Vgg16 && BackboneWidth != 1)
            problems.Add(Invariant($"backboneWidth {BackboneWidth} is only supported for vgg16."));
        if (HeadHiddenChannels <= 0)
            problems.Add($"headHiddenChannels {HeadHiddenChannels} must be positive.");
        if (InputSize < 16)
            problems.Add($"inputSize {InputSize} is smaller than one feature-map cell (16 pixels).");
        if (ServeInputSize is < 16)
            problems.Add($"serveInputSize {ServeInputSize} is smaller than one feature-map cell (16 pixels).");
        if (!(Temperature > 0) || !double.IsFinite(Temperature))
            problems.Add(Invariant($"temperature {Temperature} must be positive."));
        if (UnknownThreshold is { } unknown && !(unknown is >= 0 and <= 1))
            problems.Add(Invariant($"unknownThreshold {unknown} is not in [0, 1]."));
        if (!Enum.IsDefined(Trunk)) problems.Add($"trunk {(int)Trunk} is unknown.");
        if (!Enum.IsDefined(Output)) problems.Add($"output {(int)Output} is unknown.");
        problems.AddRange(PreprocessingProblems(Preprocessing));
        problems.AddRange(CategoryProblems(Categories));
        if (Training is null) problems.Add("training must be a JSON object.");
        if (Metrics is null) problems.Add("metrics must be a JSON object.");
        if (WeightsSha256 is not null && (WeightsSha256.Length != 64 || !WeightsSha256.All(char.IsAsciiHexDigitLower)))
            problems.Add("weightsSha256 is not 64 lower-case hex digits.");
        return problems;
    }

    private static IEnumerable<string> PreprocessingProblems(PreprocessingSpec? spec)
    {
        if (spec is null)
        {
            yield return "preprocessing is missing.";
            yield break;
        }
        if (spec.ChannelOrder is not ("RGB" or "BGR"))
            yield return $"preprocessing.channelOrder '{spec.ChannelOrder}' is neither RGB nor BGR.";
        if (!(spec.Scale > 0) || !float.IsFinite(spec.Scale))
            yield return Invariant($"preprocessing.scale {spec.Scale} must be positive.");
        if (spec.Mean is not { Length: 3 } || !spec.Mean.All(float.IsFinite))
            yield return "preprocessing.mean must hold three finite numbers.";
        if (spec.Std is not { Length: 3 } || !spec.Std.All(s => s > 0 && float.IsFinite(s)))
            yield return "preprocessing.std must hold three positive numbers.";
    }

    private static IEnumerable<string> CategoryProblems(IReadOnlyList<string>? categories)
    {
        if (categories is null || categories.Count < 2)
        {
            yield return "categories must list at least two category paths.";
            yield break;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < categories.Count; i++)
        {
            var path = categories[i];
            if (path is null || path.Split('/').Any(segment => segment.Length == 0 || segment.Trim() != segment))
                yield return $"category {i} ('{path}') is not a path like Apparel/Tops/Shirt.";
            else if (!seen.Add(path))
                yield return $"category '{path}' is listed twice.";
        }
    }

    public static JsonSerializerOptions JsonOptions { get; } = EngineJson.Indented(new BackboneKindConverter());

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses a manifest; throws <see cref="JsonException"/> when the text is not one.</summary>
    public static ModelManifest FromJson(string json) =>
        JsonSerializer.Deserialize<ModelManifest>(json, JsonOptions) ?? throw new JsonException("The manifest is JSON null.");

    /// <summary>Backbones are written as the CLI spells them (<c>resnet18</c>, <c>vgg16</c>).</summary>
    private sealed class BackboneKindConverter : JsonConverter<BackboneKind>
    {
        public override BackboneKind Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            // By name only: Enum.TryParse would also take "1" and map it to whatever kind has that value.
            var name = Enum.GetNames<BackboneKind>().FirstOrDefault(n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
            if (name is not null)
                return Enum.Parse<BackboneKind>(name);
            throw new JsonException($"backbone '{text}' is not one of {string.Join(", ", Enum.GetNames<BackboneKind>().Select(n => n.ToLowerInvariant()))}.");
        }

        public override void Write(Utf8JsonWriter writer, BackboneKind value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString().ToLowerInvariant());
    }
}
