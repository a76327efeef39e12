using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Cli.Commands;

internal static class PredictCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var inputSize = ModelOption.InputSize();
        var host = new CliHost();
        var images = new Argument<FileInfo[]>("images") { Description = "Photos to categorise.", Arity = ArgumentArity.OneOrMore };
        var heatmap = new Option<DirectoryInfo?>("--heatmap") { Description = "Write, per photo, the class map as a transparent PNG and an overlay PNG with boxes into this folder." };
        var method = new Option<string>("--method") { Description = $"Class-map method: {string.Join(", ", ClassMapMethods.Names)}.", DefaultValueFactory = _ => ClassMapMethods.Default.Name };
        method.AcceptOnlyFromAmong([.. ClassMapMethods.Names]);
        var top = new Option<int>("--top") { Description = "How many leaf categories to list.", DefaultValueFactory = _ => 5 };
        var colourMap = new Option<string>("--colour-map") { Description = "jet, turbo or viridis.", DefaultValueFactory = _ => "jet" };
        colourMap.AcceptOnlyFromAmong("jet", "turbo", "viridis");
        var opacity = new Option<float>("--opacity") { Description = "Opacity of the map in the overlay PNG, 0–1.", DefaultValueFactory = _ => 0.5f };
        var json = CliRunner.JsonOption();
        var command = new Command("predict", "Categorise photos and show where in each the decision came from.") { model, inputSize, images, heatmap, method, top, colourMap, opacity, json };

        host.AddOptionsTo(command);
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            using var engine = host.Build(parse, ModelOption.InputSizeSetting(parse, inputSize));
            var decoder = engine.Services.GetRequiredService<ImageFileDecoder>();
            ClassMapOverlay.CheckOpacity(parse.GetValue(opacity));
            var folder = ModelLocator.Resolve(parse.GetValue(model)!.FullName);
            using var predictor = engine.PredictorFor(folder);
            var options = new PredictRequestOptions { Method = ClassMapMethods.Parse(parse.GetValue(method)!), TopK = parse.GetValue(top) };
            var files = parse.GetValue(images)!.Select(f => f.FullName).ToList();
            var outFolder = parse.GetValue(heatmap)?.FullName;
            if (outFolder is not null) Directory.CreateDirectory(outFolder);
            var palette = ColourMap.FromName(parse.GetValue(colourMap)!);

            var results = new List<object>();
            var failures = 0;
            var categoriser = new FileCategoriser(predictor, decoder);
            await foreach (var outcome in categoriser.CategoriseAsync(files, options, token))
            {
                if (outcome.Prediction is not { } prediction)
                {
                    failures++;
                    Console.Error.WriteLine($"error: {outcome.Path}: {outcome.Error}");
                    results.Add(new { file = outcome.Path, error = outcome.Error, errorKind = outcome.ErrorKind?.ToString() });
                    continue;
                }
                string? heatmapFile = null, overlayFile = null;
                if (outFolder is not null)
                    (heatmapFile, overlayFile) = WriteHeatmaps(decoder, outcome.Path, prediction, outFolder, palette, parse.GetValue(opacity));
                results.Add(PredictionJson.Describe(prediction, heatmapFile, overlayFile));
                if (!parse.GetValue(json))
                    Console.WriteLine($"{outcome.Path}: {string.Join(" › ", prediction.Path.Select(l => $"{l.Name} {l.Probability:F2}"))}"
                        + (prediction.Boxes.Count > 0 ? $"  box {prediction.Boxes[0].XMin},{prediction.Boxes[0].YMin}–{prediction.Boxes[0].XMax},{prediction.Boxes[0].YMax}" : ""));
            }
            if (parse.GetValue(json)) CliRunner.WriteJson(new { model = folder, images = results });
            return failures == 0 ? 0 : 1;
        }, cancellationToken));
        return command;
    }

    private static (string Heatmap, string Overlay) WriteHeatmaps(ImageFileDecoder decoder, string source, Prediction prediction, string folder, ColourMap palette, float opacity)
    {
        var name = Path.GetFileNameWithoutExtension(source);
        var map = prediction.Maps[0].ToHeatMap();
        var heatmapFile = Path.Combine(folder, $"{name}.heatmap.png");
        using (var transparent = ClassMapOverlay.RenderTransparent(map, palette, HeatMapAlpha.FromValue, 1f, prediction.Width, prediction.Height))
            File.WriteAllBytes(heatmapFile, ClassMapOverlay.EncodePng(transparent));
        var overlayFile = Path.Combine(folder, $"{name}.overlay.png");
        using var photo = decoder.Decode(source);
        using var overlay = ClassMapOverlay.Blend(photo, map, palette, opacity);
        foreach (var box in prediction.Boxes) BoxPainter.Draw(overlay, box.ToPixelBox(), new Rgb24(255, 255, 255));
        File.WriteAllBytes(overlayFile, ClassMapOverlay.EncodePng(overlay));
        return (heatmapFile, overlayFile);
    }
}
