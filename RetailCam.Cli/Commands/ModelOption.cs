using System.CommandLine;

namespace RetailCam.Cli.Commands;

internal static class ModelOption
{
    public static Option<DirectoryInfo> Create() =>
        new("--model") { Description = "A run folder (its best model) or a model folder.", Required = true };

    /// <summary>--input-size: the side photos are resized to for the network (0 = the model's training size).</summary>
    public static Option<int> InputSize()
    {
        var option = new Option<int>("--input-size")
        {
            Description = "Resize photos to this side (px) for the network instead of the model's training size; "
                + "larger gives finer class maps and suits wide photos with small products (e.g. 224 for shop scenes).",
            DefaultValueFactory = _ => 0,
        };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<int>();
            if (value != 0 && value is < RetailCam.Engine.Inference.Predictor.MinimumInputSize or > 1024)
                result.AddError($"--input-size must be 0 or between {RetailCam.Engine.Inference.Predictor.MinimumInputSize} and 1024.");
        });
        return option;
    }
}
