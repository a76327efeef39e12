using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Training;

public sealed record TrainingSummary(string RunId, RunStatus Status, long Steps, int EpochsCompleted, double BestValidationAccuracy,
    double LastValidationLoss, double ImagesPerSecond, double Seconds);

/// <summary>
/// Fine-tunes backbone + CAM head. Runs on the calling thread (TorchSharp dispose scopes are per
/// thread: run it on one long-running thread), one dispose scope per step, and tells observers
/// through ordered callbacks and the event stream.
/// </summary>
public sealed class Trainer(
    CamNetwork network,
    TrainingOptions options,
    IReadOnlyList<string> categories,
    IEpochBatches train,
    IEpochBatches validation,
    RunFolder run,
    TrainingEventStream events,
    IReadOnlyList<ITrainingCallback>? callbacks = null,
    RunControl? control = null)
{
    private readonly IReadOnlyList<ITrainingCallback> callbacks = callbacks ?? [];
    private readonly RunControl control = control ?? new RunControl();

    public TrainingSummary Run(bool resume, CancellationToken cancellationToken)
    {
        var context = new TrainingContext(network, options, run, categories, events);
        var device = network.parameters().First().device;
        random.manual_seed(options.Seed);

        if (options.FreezeEarlyLayers) network.Backbone.FreezeEarlyLayers();
        var trainable = network.parameters().Where(p => p.requires_grad).ToList();
        var backboneTrainable = network.Backbone.parameters().Where(p => p.requires_grad).ToList();
        optim.Optimizer optimizer = options.Optimizer switch
        {
            OptimizerKind.SgdNesterov => optim.SGD(trainable, options.LearningRate, momentum: options.Momentum, nesterov: true, weight_decay: options.WeightDecay),
            _ => optim.AdamW(trainable, options.LearningRate, weight_decay: options.WeightDecay),
        };

        var position = new TrainingPosition(0, 0, 0, -1, -1, 0, "");
        if (resume && Checkpoint.Find(run.Paths.CheckpointFolder) is not null)
        {
            position = Checkpoint.Load(run.Paths.CheckpointFolder, network, optimizer);
            Checkpoint.RestoreRng(position.RngState);
            run.TruncateAfter(position.Step);
        }

        var batchesPerEpoch = train.BatchesPerEpoch;
        var totalSteps = (long)options.Epochs * batchesPerEpoch;
        // On a small dataset the fixed warm-up and head-only phases would fill the whole run: cap each at a tenth of it.
        var warmupSteps = (int)Math.Min(options.WarmupSteps, Math.Max(1, totalSteps / 10));
        var headOnlySteps = Math.Min(options.HeadOnlySteps, totalSteps / 10);
        var clock = Stopwatch.StartNew();
        var elapsedBefore = position.ElapsedSeconds;
        double Elapsed() => elapsedBefore + clock.Elapsed.TotalSeconds;

        long step = position.Step;
        var best = (Accuracy: position.BestAccuracy, Epoch: position.BestEpoch);
        var lastValidationLoss = double.NaN;
        var epochsCompleted = position.Epoch;
        var status = RunStatus.Running;
        double imagesPerSecond = 0;
        var currentBatchInEpoch = position.BatchInEpoch;
        context.Step = step;

        Publish(new StatusChanged(run.RunId, step, DateTimeOffset.UtcNow, RunStatus.Running, resume && step > 0 ? $"resumed at step {step}" : null));
        foreach (var callback in callbacks) callback.OnRunStarted(context);

        TrainingPosition Position(int epoch, int batchInEpoch) =>
            new(step, epoch, batchInEpoch, best.Accuracy, best.Epoch, Elapsed(), Checkpoint.CaptureRng());

        try
        {
            for (var epoch = position.Epoch; epoch < options.Epochs && status == RunStatus.Running; epoch++)
            {
                context.Epoch = epoch;
                var skip = epoch == position.Epoch ? position.BatchInEpoch : 0;
                var batchInEpoch = skip;
                currentBatchInEpoch = skip;
                double lossSum = 0, correctSum = 0, seen = 0;
                network.train();
                var batchClock = Stopwatch.StartNew();

                foreach (var batch in train.Epoch(epoch, skip, cancellationToken))
                {
                    using var scope = NewDisposeScope();
                    using var owned = batch;
                    if (control.IsPaused)
                    {
                        Publish(new StatusChanged(run.RunId, step, DateTimeOffset.UtcNow, RunStatus.Paused, null));
                        control.WaitWhilePaused(cancellationToken);
                        Publish(new StatusChanged(run.RunId, step, DateTimeOffset.UtcNow, RunStatus.Running, "resumed"));
                        batchClock.Restart();
                    }
                    cancellationToken.ThrowIfCancellationRequested();

                    var headOnly = step < headOnlySteps;
                    foreach (var p in backboneTrainable) p.requires_grad = !headOnly;
                    if (headOnly) network.Backbone.eval(); else network.Backbone.train();

                    var progress = options.TimeBudget is { } budget
                        ? Math.Max((double)step / totalSteps, Elapsed() / budget.TotalSeconds)
                        : (double)step / totalSteps;
                    var learningRate = LearningRateSchedule.At(options.LearningRate, step, warmupSteps, progress);
                    foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;

                    var images = batch.Images.to(device);
                    var labels = batch.Labels.to(device);
                    var logits = network.call(images);
                    var loss = nn.functional.cross_entropy(logits, labels, label_smoothing: options.LabelSmoothing);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();

                    step++;
                    batchInEpoch++;
                    currentBatchInEpoch = batchInEpoch;
                    context.Step = step;
                    var count = labels.shape[0];
                    var lossValue = loss.item<float>();
                    var correct = logits.argmax(1).eq(labels).sum().item<long>();
                    lossSum += lossValue * count;
                    correctSum += correct;
                    seen += count;

                    var seconds = batchClock.Elapsed.TotalSeconds;
                    batchClock.Restart();
                    var instant = count / Math.Max(seconds, 1e-9);
                    imagesPerSecond = imagesPerSecond == 0 ? instant : 0.9 * imagesPerSecond + 0.1 * instant;
                    var remaining = options.TimeBudget is { } limit
                        ? TimeSpan.FromSeconds(Math.Max(0, Math.Min(limit.TotalSeconds - Elapsed(), (totalSteps - step) * options.BatchSize / imagesPerSecond)))
                        : TimeSpan.FromSeconds((totalSteps - step) * (double)options.BatchSize / Math.Max(imagesPerSecond, 1e-9));

                    var batchEvent = new BatchEnded(run.RunId, step, DateTimeOffset.UtcNow, epoch, batchInEpoch, batchesPerEpoch, totalSteps,
                        lossValue, (double)correct / count, learningRate, imagesPerSecond, remaining);
                    run.AppendMetric(batchEvent);
                    Publish(batchEvent);
                    foreach (var callback in callbacks) callback.OnBatchEnded(context, batchEvent);

                    if (options.CheckpointEverySteps > 0 && step % options.CheckpointEverySteps == 0)
                        Checkpoint.Save(run.Paths.CheckpointFolder, network, optimizer, Position(epoch, batchInEpoch));

                    if (options.TimeBudget is { } stopAt && Elapsed() >= stopAt.TotalSeconds)
                    {
                        status = RunStatus.Completed;
                        break;
                    }
                }

                var result = Validate(cancellationToken);
                lastValidationLoss = result.Loss;
                var isBest = result.Accuracy > best.Accuracy;
                if (isBest) best = (result.Accuracy, epoch);
                SaveModels(result, epoch, step, isBest);
                var epochEvent = new EpochEnded(run.RunId, step, DateTimeOffset.UtcNow, epoch,
                    seen == 0 ? 0 : lossSum / seen, seen == 0 ? 0 : correctSum / seen, result, isBest);
                run.AppendMetric(epochEvent);
                Publish(epochEvent);
                foreach (var callback in callbacks) callback.OnEpochEnded(context, epochEvent);
                epochsCompleted = epoch + 1;
                var finishedEpoch = batchInEpoch >= batchesPerEpoch;
                Checkpoint.Save(run.Paths.CheckpointFolder, network, optimizer,
                    finishedEpoch ? Position(epoch + 1, 0) : Position(epoch, batchInEpoch));
            }
            if (status == RunStatus.Running) status = RunStatus.Completed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            status = RunStatus.Stopped;
            Checkpoint.Save(run.Paths.CheckpointFolder, network, optimizer, Position(context.Epoch, currentBatchInEpoch));
        }
        catch (Exception ex)
        {
            status = RunStatus.Failed;
            Publish(new StatusChanged(run.RunId, step, DateTimeOffset.UtcNow, status, ex.Message));
            foreach (var callback in callbacks) callback.OnRunEnded(context, status);
            throw;
        }

        Publish(new StatusChanged(run.RunId, step, DateTimeOffset.UtcNow, status, null));
        foreach (var callback in callbacks) callback.OnRunEnded(context, status);
        return new TrainingSummary(run.RunId, status, step, epochsCompleted, best.Accuracy, lastValidationLoss, imagesPerSecond, Elapsed());
    }

    /// <summary>Accuracy, loss, per-class accuracy and confusion over the whole validation split.</summary>
    public ValidationResult Validate(CancellationToken cancellationToken)
    {
        var classes = categories.Count;
        var confusion = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
        double lossSum = 0;
        var wasTraining = network.training;
        network.eval();
        try
        {
            using var noGrad = no_grad();
            var device = network.parameters().First().device;
            foreach (var batch in validation.Epoch(0, 0, cancellationToken))
            {
                using var scope = NewDisposeScope();
                using var owned = batch;
                var labels = batch.Labels.to(device);
                var logits = network.call(batch.Images.to(device));
                lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
                var predicted = logits.argmax(1).cpu().data<long>().ToArray();
                var truth = labels.cpu().data<long>().ToArray();
                for (var i = 0; i < truth.Length; i++) confusion[truth[i]][predicted[i]]++;
            }
        }
        finally
        {
            network.train(wasTraining);
        }
        return ValidationResult.FromConfusion(confusion, lossSum);
    }

    /// <summary>
    /// Every epoch's model as a complete folder (epochs/epoch-NNN, so maps can be compared across a
    /// run), and the best so far in model/, so it can be served while training goes on.
    /// </summary>
    private void SaveModels(ValidationResult result, int epoch, long step, bool isBest)
    {
        var metrics = new JsonObject
        {
            ["validationAccuracy"] = result.Accuracy,
            ["validationLoss"] = result.Loss,
            ["epoch"] = epoch,
            ["step"] = step,
        };
        var training = JsonSerializer.SerializeToNode(options, RunFolder.Json)!.AsObject();
        var manifest = ModelManifest.Describe(network, categories, options.ImageSize, training, metrics);
        ModelFolder.Save(run.Paths.EpochModelFolder(epoch), network, manifest);
        if (isBest) ModelFolder.Save(run.Paths.ModelFolder, network, manifest);
    }

    private void Publish(TrainingEvent trainingEvent)
    {
        if (trainingEvent is StatusChanged) run.AppendMetric(trainingEvent);
        events.Publish(trainingEvent);
    }
}
