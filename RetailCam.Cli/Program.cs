using System.CommandLine;
using RetailCam.Cli.Commands;

namespace RetailCam.Cli;

internal static class CliProgram
{
    public static Task<int> Main(string[] args) => InvokeAsync(args);

    /// <summary>Parses and runs one command line; tests call this in-process.</summary>
    public static Task<int> InvokeAsync(string[] args)
    {
        var root = new RootCommand("retailcam — learn product categories from your photos and show where in each photo the decision came from.");
        foreach (var command in VerbCatalogue.All())
            root.Subcommands.Add(command);
        return CliRunner.InvokeAsync(root, args);
    }
}
