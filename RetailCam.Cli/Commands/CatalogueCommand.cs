using System.CommandLine;
using CsvHelper;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;

namespace RetailCam.Cli.Commands;

internal static class CatalogueCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var inputSize = ModelOption.InputSize();
        var host = new CliHost();
        var input = new Option<DirectoryInfo>("--in") { Description = "Folder of photos to categorise (searched recursively).", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "CSV file to write.", Required = true };
        var json = CliRunner.JsonOption();
        var command = new Command("catalogue", "Categorise every photo of a folder into a CSV file.") { model, inputSize, input, output, json };

        host.AddOptionsTo(command);
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            using var engine = host.Build(parse, ModelOption.InputSizeSetting(parse, inputSize));
            var decoder = engine.Services.GetRequiredService<ImageFileDecoder>();
            var folder = ModelLocator.Resolve(parse.GetValue(model)!.FullName);
            var inputFolder = parse.GetValue(input)!.FullName;
            var files = FileCategoriser.FindImages(inputFolder);
            using var predictor = engine.PredictorFor(folder);
            var progress = new CliProgress();
            var started = DateTime.UtcNow;
            var target = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var temporary = target + ".tmp";
            int done = 0, failed = 0;
            await using (var writer = new StreamWriter(temporary))
            await using (var csv = new CsvWriter(writer, CatalogueCsv.Configuration))
            {
                CatalogueCsv.WriteHeader(csv);
                var categoriser = new FileCategoriser(predictor, decoder);
                await foreach (var outcome in categoriser.CategoriseAsync(files, cancellationToken: token))
                {
                    CatalogueCsv.WriteRow(csv, Path.GetRelativePath(inputFolder, outcome.Path), outcome);
                    done++;
                    if (outcome.Prediction is null) failed++;
                    progress.Report((double)done / Math.Max(1, files.Count), $"{done}/{files.Count} photos, {failed} unreadable");
                }
            }
            File.Move(temporary, target, overwrite: true);
            progress.Done();
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            if (parse.GetValue(json)) CliRunner.WriteJson(new { csv = target, images = done, failed, seconds, imagesPerSecond = done / Math.Max(seconds, 1e-9) });
            else Console.WriteLine($"{done} photos categorised into {target} ({failed} unreadable) in {seconds:F1} s");
            return 0;
        }, cancellationToken));
        return command;
    }
}
