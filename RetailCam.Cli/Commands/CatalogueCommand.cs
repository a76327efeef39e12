using System.CommandLine;
using CsvHelper;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;

namespace RetailCam.Cli.Commands;

internal static class CatalogueCommand
{
    private const int FlushEvery = 64;

    public static Command Create()
    {
        var model = ModelOption.Create();
        var inputSize = ModelOption.InputSize();
        var host = new CliHost();
        var input = new Option<DirectoryInfo>("--in") { Description = "Folder of photos to categorise (searched recursively).", Required = true };
        var output = new Option<FileInfo>("--out")
        {
            Description = "CSV file to write. When it (or the FILE.partial a stopped run left) exists, the photos it has rows for are skipped and the others appended.",
            Required = true,
        };
        var restart = new Option<bool>("--restart") { Description = "Start the CSV afresh instead of going on with the rows it has (e.g. after training a new model)." };
        var json = CliRunner.JsonOption();
        var command = new Command("catalogue", "Categorise every photo of a folder into a CSV file; a stopped run goes on where it stopped.") { model, inputSize, input, output, restart, json };

        host.AddOptionsTo(command);
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            using var engine = host.Build(parse, ModelOption.InputSizeSetting(parse, inputSize));
            var decoder = engine.Services.GetRequiredService<ImageFileDecoder>();
            var folder = ModelLocator.Resolve(parse.GetValue(model)!.FullName);
            var inputFolder = parse.GetValue(input)!.FullName;
            var target = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            // Rows go to FILE.partial as they come, flushed, so a run stopped or killed on a 100,000-photo
            // folder loses at most the rows of its last moments; the whole CSV is renamed into place at the end.
            var partial = target + ".partial";
            if (parse.GetValue(restart))
            {
                File.Delete(partial);
                File.Delete(target);
            }
            var existing = File.Exists(partial) ? partial : File.Exists(target) ? target : null;
            var done = new HashSet<string>(StringComparer.Ordinal);
            if (existing is not null)
            {
                var (files, wholeLength) = CatalogueCsv.ReadExisting(existing);
                done = files;
                if (existing == target) File.Move(target, partial);
                // A row cut by a kill is written again.
                using (var cut = new FileStream(partial, FileMode.Open, FileAccess.Write)) cut.SetLength(wholeLength);
            }
            var all = FileCategoriser.FindImages(inputFolder);
            var todo = all.Where(f => !done.Contains(Path.GetRelativePath(inputFolder, f))).ToList();
            var skipped = all.Count - todo.Count;
            if (skipped > 0)
                Console.Error.WriteLine($"{skipped} of {all.Count} photos already have rows in {existing}: categorising the other {todo.Count}");
            using var predictor = engine.PredictorFor(folder);
            var progress = new CliProgress();
            var started = DateTime.UtcNow;
            int categorised = 0, failed = 0;
            var fresh = !File.Exists(partial);
            await using (var stream = new FileStream(partial, FileMode.Append, FileAccess.Write))
            await using (var writer = new StreamWriter(stream))
            await using (var csv = new CsvWriter(writer, CatalogueCsv.Configuration))
            {
                if (fresh) CatalogueCsv.WriteHeader(csv);
                var categoriser = new FileCategoriser(predictor, decoder);
                await foreach (var outcome in categoriser.CategoriseAsync(todo, cancellationToken: token))
                {
                    CatalogueCsv.WriteRow(csv, Path.GetRelativePath(inputFolder, outcome.Path), outcome);
                    categorised++;
                    if (outcome.Prediction is null) failed++;
                    if (categorised % FlushEvery == 0)
                    {
                        await csv.FlushAsync();
                        await writer.FlushAsync(token);
                    }
                    progress.Report((double)(skipped + categorised) / Math.Max(1, all.Count), $"{skipped + categorised}/{all.Count} photos, {failed} unreadable");
                }
            }
            File.Move(partial, target, overwrite: true);
            progress.Done();
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            if (parse.GetValue(json))
                CliRunner.WriteJson(new { csv = target, images = categorised, skipped, failed, seconds, imagesPerSecond = categorised / Math.Max(seconds, 1e-9) });
            else Console.WriteLine($"{categorised} photos categorised into {target} ({skipped} already there, {failed} unreadable) in {seconds:F1} s");
            return 0;
        }, cancellationToken));
        return command;
    }
}
