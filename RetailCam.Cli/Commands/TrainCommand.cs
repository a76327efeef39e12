using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Models;
using RetailCam.Engine.Native;
using RetailCam.Engine.Data;
using RetailCam.Engine.Training;

namespace RetailCam.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        // Every setting left out is chosen for the dataset (TrainingPlanner) unless RetailCam:Training sets it.
        var defaults = new TrainingSettings();
        var host = new CliHost();
        var data = new Option<DirectoryInfo>("--data") { Description = "Dataset folder: one sub-folder per category path.", Required = true };
        var runFolder = new Option<DirectoryInfo>("--out") { Description = "Run folder to create (or to continue with --resume).", Required = true };
        var backbone = new Option<string>("--backbone") { Description = "resnet18 (ImageNet, pretrained) or vgg16.", DefaultValueFactory = _ => "resnet18" };
        backbone.AcceptOnlyFromAmong("resnet18", "vgg16");
        var epochs = new Option<int?>("--epochs") { Description = "Passes over the training split (default: auto, about 3000 steps)." };
        var batch = new Option<int?>("--batch") { Description = "Images per step (default: auto, 32 under 2000 photos, else 64)." };
        var imageSize = new Option<int?>("--image-size") { Description = "Side of the square training input, in pixels (default: auto, from the photos' size)." };
        var learningRate = new Option<double?>("--lr") { Description = "Peak learning rate of the head (default: auto, 0.001)." };
        var optimizer = new Option<string?>("--optimizer") { Description = "adamw or sgd (Nesterov momentum) (default: auto, adamw)." };
        optimizer.AcceptOnlyFromAmong("adamw", "sgd");
        var minutes = new Option<double?>("--minutes") { Description = $"Time budget: the schedule follows the clock and training stops when it is spent; 0 for none (default: auto, {TrainingPlanner.DefaultTimeBudget.TotalMinutes:0})." };
        var trunk = new Option<string?>("--trunk") { Description = "Where the ResNet18 trunk ends: layer3 or dilated-layer4 (default: auto, layer3)." };
        trunk.AcceptOnlyFromAmong("layer3", "dilated-layer4");
        var outputKind = new Option<string?>("--output") { Description = "sigmoid (each category its own confidence; needed for scenes) or softmax (default: auto, sigmoid)." };
        outputKind.AcceptOnlyFromAmong("sigmoid", "softmax");
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint." };
        var workers = new Option<int>("--workers") { Description = "Loader threads decoding and augmenting images.", DefaultValueFactory = _ => TrainingJobSpec.DefaultLoaderWorkers };
        var cacheMegabytes = new Option<long?>("--cache-mb")
        {
            Description = $"Megabytes of decoded photos kept in memory between epochs; 0 decodes every photo every epoch (default: {DecodedImageCache.DefaultBudgetBytes >> 20} here, an eighth of memory, at most 2048).",
        };
        cacheMegabytes.Validators.Add(r => { if (r.GetValueOrDefault<long?>() is < 0) r.AddError("--cache-mb must be 0 or more."); });
        var scenes = new Option<double?>("--scenes", "--scene-backgrounds") { Description = "Share (0–1) of training photos composed into shop scenes of 1–3 products cut from their backgrounds, so the model learns to find products anywhere in a frame (default: auto, 0.5)." };
        var sceneSize = new Option<int?>("--scene-size") { Description = $"Side of the scene batches in px; 0 for the image side (default: auto, {TrainingPlanner.MinimumSceneSide} when photos train smaller)." };
        var snapshotEvery = new Option<int?>("--snapshot-every") { Description = $"Class-map snapshots of the probe images every N steps (0: never) (default {defaults.SnapshotEverySteps})." };
        var vggWeights = new Option<FileInfo?>("--vgg16-weights") { Description = "torchvision VGG16 state dict (.pt or .safetensors) to start VGG16 from." };
        var json = CliRunner.JsonOption();

        var command = new Command("train", "Fine-tune a CNN with the CAM head on a folder tree of product photos.")
        {
            data, runFolder, backbone, epochs, batch, imageSize, learningRate, optimizer, minutes, trunk, outputKind, resume, workers, cacheMegabytes, scenes, sceneSize, snapshotEvery, vggWeights, json,
        };
        host.AddOptionsTo(command);
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(_ =>
        {
            using var engine = host.Build(parse);
            var torch = engine.Services.GetRequiredService<TorchEnvironment>();
            var configured = engine.Services.GetRequiredService<IOptions<TrainingSettings>>().Value;
            var spec = new TrainingJobSpec
            {
                DataFolder = parse.GetValue(data)!.FullName,
                RunFolder = parse.GetValue(runFolder)!.FullName,
                Backbone = parse.GetValue(backbone) == "vgg16" ? BackboneKind.Vgg16 : BackboneKind.ResNet18,
                Vgg16Weights = parse.GetValue(vggWeights)?.FullName,
                PretrainedFolder = engine.PretrainedFolder(),
                LoaderWorkers = parse.GetValue(workers),
                DecodedCacheBytes = parse.GetValue(cacheMegabytes) is { } megabytes ? megabytes << 20 : null,
                Settings = configured with
                {
                    Epochs = parse.GetValue(epochs) ?? configured.Epochs,
                    BatchSize = parse.GetValue(batch) ?? configured.BatchSize,
                    ImageSize = parse.GetValue(imageSize) ?? configured.ImageSize,
                    LearningRate = parse.GetValue(learningRate) ?? configured.LearningRate,
                    Optimizer = parse.GetValue(optimizer) switch { "sgd" => OptimizerKind.SgdNesterov, "adamw" => OptimizerKind.AdamW, _ => configured.Optimizer },
                    TimeBudget = parse.GetValue(minutes) is { } m ? TimeSpan.FromMinutes(m) : configured.TimeBudget,
                    Trunk = parse.GetValue(trunk) switch { "layer3" => ResNet18CamTrunk.Layer3, "dilated-layer4" => ResNet18CamTrunk.DilatedLayer4, _ => configured.Trunk },
                    Output = parse.GetValue(outputKind) switch { "sigmoid" => ClassOutput.Sigmoid, "softmax" => ClassOutput.Softmax, _ => configured.Output },
                    SceneProbability = parse.GetValue(scenes) ?? configured.SceneProbability,
                    SceneImageSize = parse.GetValue(sceneSize) ?? configured.SceneImageSize,
                    SnapshotEverySteps = parse.GetValue(snapshotEvery) ?? configured.SnapshotEverySteps,
                },
            };
            if (spec.Settings.Problems() is { Count: > 0 } problems)
                throw new ArgumentException("Invalid training settings: " + string.Join("; ", problems));
            var progress = new CliProgress();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var events = new TrainingEventStream();
            using var subscription = events.Subscribe(e =>
            {
                switch (e)
                {
                    case BatchEnded b:
                        var fraction = b.EstimatedRemaining is { } left && left > TimeSpan.Zero
                            ? Math.Max((double)b.Step / b.TotalSteps, 1 - left.TotalSeconds / Math.Max(1, left.TotalSeconds + clock.Elapsed.TotalSeconds))
                            : (double)b.Step / b.TotalSteps;
                        progress.Report(fraction, $"epoch {b.Epoch + 1} step {b.Step}/{b.TotalSteps} loss {b.Loss:F3} acc {b.Accuracy:P0} lr {b.LearningRate:G3} {b.ImagesPerSecond:F0} img/s ETA {b.EstimatedRemaining:hh\\:mm\\:ss}");
                        break;
                    case EpochEnded epoch:
                        progress.Message($"epoch {epoch.Epoch + 1}: validation accuracy {epoch.Validation.Accuracy:P2}, loss {epoch.Validation.Loss:F3}{(epoch.IsBest ? " (best so far, saved)" : "")}");
                        break;
                    case StatusChanged status when status.Status != RunStatus.Running:
                        progress.Message($"run {status.Status.ToString().ToLowerInvariant()}{(status.Message is null ? "" : ": " + status.Message)}");
                        break;
                }
            });
            var result = TrainingJob.Run(spec, torch.Device, events, control: null, parse.GetValue(resume), cancellationToken, progress.Message);
            progress.Done();
            foreach (var skipped in result.Skipped.Take(20)) Console.Error.WriteLine($"skipped {skipped.Path}: {skipped.Reason}");

            var summary = result.Summary;
            var output = new
            {
                runId = summary.RunId,
                status = summary.Status.ToString().ToLowerInvariant(),
                accuracy = summary.BestValidationAccuracy,
                loss = summary.LastValidationLoss,
                imagesPerSecond = summary.ImagesPerSecond,
                steps = summary.Steps,
                epochs = summary.EpochsCompleted,
                seconds = summary.Seconds,
                categories = result.Categories.Count,
                trainImages = result.TrainImages,
                validationImages = result.ValidationImages,
                skippedFiles = result.Skipped.Count,
                model = result.ModelFolder,
                plan = result.Plan.Choices.Select(c => new { setting = c.Setting, value = c.Value, reason = c.Reason }),
            };
            if (parse.GetValue(json)) CliRunner.WriteJson(output);
            else Console.WriteLine($"run {output.runId}: {output.status}, validation accuracy {output.accuracy:P2}, loss {output.loss:F3}, {output.imagesPerSecond:F0} img/s, model in {output.model}");
            return Task.FromResult(summary.Status is RunStatus.Completed or RunStatus.Stopped ? 0 : 1);
        }, cancellationToken));
        return command;
    }
}
