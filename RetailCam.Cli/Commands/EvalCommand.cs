using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Data;
using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Native;
using RetailCam.Engine.Training;

namespace RetailCam.Cli.Commands;

internal static class EvalCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        var inputSize = ModelOption.InputSize();
        var host = new CliHost();
        var data = new Option<DirectoryInfo>("--data") { Description = "A catalogue folder tree, or a labelled box set (a folder with boxes.csv).", Required = true };
        var split = new Option<string>("--split") { Description = "test, val or all (catalogues only; a box set is used whole).", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "val", "all");
        var probe = new Option<bool>("--linear-probe")
        {
            Description = "On a catalogue, also score the baseline on the same split: frozen pretrained ResNet18 features + logistic regression "
                + $"(at most {LinearProbe.DefaultMaxTrainPerCategory} training photos per category).",
        };
        var ood = new Option<DirectoryInfo?>("--ood")
        {
            Description = "On a catalogue, also score a folder of photos of none of its categories (demo-data --source ood): AUROC of the top score and the share flagged as not in the catalogue.",
        };
        var json = CliRunner.JsonOption();
        var command = new Command("eval", "Measure a model: accuracy per class, confusion and calibration (ECE); MaxBoxAcc and mean IoU on a labelled box set.") { model, inputSize, data, split, probe, ood, json };

        host.AddOptionsTo(command);
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            using var engine = host.Build(parse, ModelOption.InputSizeSetting(parse, inputSize));
            var decoder = engine.Services.GetRequiredService<ImageFileDecoder>();
            var folder = ModelLocator.Resolve(parse.GetValue(model)!.FullName);
            using var predictor = engine.PredictorFor(folder);
            var progress = new CliProgress();
            var which = parse.GetValue(split) switch { "val" => EvaluationSplit.Validation, "all" => EvaluationSplit.All, _ => EvaluationSplit.Test };
            var report = await new Evaluator(predictor, decoder).EvaluateAsync(parse.GetValue(data)!.FullName, which,
                (done, total) => progress.Report((double)done / Math.Max(1, total), $"{done}/{total} images"), token);
            progress.Done();
            var dataFolder = parse.GetValue(data)!.FullName;
            LinearProbeReport? baseline = null;
            if (parse.GetValue(probe))
            {
                if (File.Exists(Path.Combine(dataFolder, BoxesCsv.FileName)))
                    throw new ArgumentException("--linear-probe needs a catalogue folder tree, not a box set.");
                using var pretrained = PretrainedResNet18.Load(engine.PretrainedFolder(),
                    device: engine.Services.GetRequiredService<TorchEnvironment>().Device);
                var probing = new CliProgress();
                baseline = LinearProbe.Run(dataFolder, pretrained, decoder, progress: (done, total) => probing.Report((double)done / Math.Max(1, total), $"linear probe: {done}/{total} photos"), cancellationToken: token);
                probing.Done();
            }

            OutOfCatalogueReport? outOfCatalogue = null;
            if (parse.GetValue(ood) is { } oodFolder)
            {
                if (report.Ece is null) throw new ArgumentException("--ood needs a catalogue folder tree as --data, not a box set.");
                outOfCatalogue = await new Evaluator(predictor, decoder).EvaluateOutOfCatalogueAsync(oodFolder.FullName, report, token);
            }

            if (parse.GetValue(json))
            {
                CliRunner.WriteJson(new
                {
                    model = folder,
                    inputSize = predictor.InputSizeFor(predictor.Manifest!),
                    images = report.Images,
                    failed = report.Failed,
                    accuracy = report.Accuracy,
                    perClass = report.PerClass,
                    categories = report.Categories,
                    confusion = report.Confusion,
                    maxBoxAcc = report.MaxBoxAcc,
                    meanIoU = report.MeanIoU,
                    bestThreshold = report.BestThreshold,
                    localisationSamples = report.LocalisationSamples,
                    seconds = report.Seconds,
                    ece = report.Ece,
                    eceUncalibrated = report.EceUncalibrated,
                    temperature = predictor.Manifest!.Temperature,
                    notInCatalogueShare = report.NotInCatalogueShare,
                    outOfCatalogue,
                    linearProbe = baseline,
                });
            }
            else
            {
                Console.WriteLine($"accuracy {report.Accuracy:P2} on {report.Images} images ({report.Failed} unreadable) at {predictor.InputSizeFor(predictor.Manifest!)} px");
                foreach (var (category, accuracy) in report.PerClass) Console.WriteLine($"  {category,-32} {accuracy:P1}");
                if (report.MaxBoxAcc is { } boxAcc)
                    Console.WriteLine($"MaxBoxAcc {boxAcc:P1} (best threshold {report.BestThreshold:F2}), mean IoU {report.MeanIoU:F3} over {report.LocalisationSamples} maps");
                if (report.Ece is { } ece)
                    Console.WriteLine($"calibration: ECE {ece:P2} (temperature {predictor.Manifest!.Temperature:F2}; {report.EceUncalibrated:P2} without it); {report.NotInCatalogueShare:P1} flagged as not in the catalogue");
                if (outOfCatalogue is not null)
                    Console.WriteLine($"out of catalogue: AUROC {outOfCatalogue.Auroc:F3} over {outOfCatalogue.Photos} photos; {outOfCatalogue.FlaggedShare:P1} flagged ("
                        + string.Join(", ", outOfCatalogue.FlaggedShareByKind.Select(k => $"{k.Key} {k.Value:P0}")) + ")");
                if (baseline is not null)
                    Console.WriteLine($"linear probe (frozen ResNet18 features + logistic regression, L2 {baseline.L2:G2}): {baseline.TestAccuracy:P2} on the {baseline.TestImages} test photos, trained on {baseline.TrainImages}");
            }
            return report.Failed == report.Images && report.Images > 0 ? 1 : 0;
        }, cancellationToken));
        return command;
    }
}
