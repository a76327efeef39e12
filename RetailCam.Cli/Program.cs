using System.CommandLine;
using RetailCam.Cli.Commands;

var root = new RootCommand("retailcam — learn product categories from your photos and show where in each photo the decision came from.");
foreach (var command in VerbCatalogue.All())
    root.Subcommands.Add(command);

return await CliRunner.InvokeAsync(root, args);
