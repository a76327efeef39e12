using System.CommandLine;

namespace RetailCam.Cli.Commands;

internal static class ModelOption
{
    public static Option<DirectoryInfo> Create() =>
        new("--model") { Description = "A run folder (its best model) or a model folder.", Required = true };
}
