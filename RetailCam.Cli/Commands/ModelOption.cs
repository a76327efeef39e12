using System.CommandLine;
using RetailCam.Engine.Inference;

namespace RetailCam.Cli.Commands;

internal static class ModelOption
{
    public static Option<DirectoryInfo> Create() =>
        new("--model") { Description = "A run folder (its best model) or a model folder.", Required = true };

    /// <summary>--input-size: the side photos are resized to for the network (0 = the model's training size).</summary>
    public static Option<int?> InputSize()
    {
        var option = new Option<int?>("--input-size")
        {
            Description = "Resize photos to this side (px) for the network instead of the model's training size; "
                + "larger gives finer class maps and suits wide photos with small products (e.g. 224 for shop scenes). "
                + "Default: RetailCam:Inference:InputSize, else 0 (the model's own).",
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } side && PredictorOptions.InputSizeProblem(side) is { } problem)
                result.AddError($"--input-size: {problem}");
        });
        return option;
    }

    /// <summary>The configuration key --input-size sets for the host, when given.</summary>
    public static (string Key, string? Value) InputSizeSetting(ParseResult parse, Option<int?> inputSize) =>
        ($"{PredictorOptions.SectionName}:{nameof(PredictorOptions.InputSize)}", parse.GetValue(inputSize)?.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
