using System.CommandLine;

namespace RetailCam.Cli.Commands;

/// <summary>Every verb of the tool, in the order `--help` lists them.</summary>
internal static class VerbCatalogue
{
    public static IEnumerable<Command> All() =>
    [
        DemoDataCommand.Create(),
        TrainCommand.Create(),
        EvalCommand.Create(),
        PredictCommand.Create(),
        CatalogueCommand.Create(),
        ExportCommand.Create(),
        ParityCommand.Create(),
        WatchCommand.Create(),
        BenchCommand.Create(),
        FuzzCommand.Create(),
        LoadCommand.Create(),
        AccountCommands.Users(),
        AccountCommands.Tokens(),
    ];
}
