using RetailCam.Engine.Metrics;
using RetailCam.Engine.Models;
using RetailCam.Engine.Training.Callbacks;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Training;

public sealed record TrainingSummary(string RunId, RunStatus Status, long Steps, int EpochsCompleted, double BestValidationAccuracy,
    double LastValidationLoss, double ImagesPerSecond, double Seconds);

/// <summary>
/// Fine-tunes backbone + CAM head on <paramref name="device"/> (CPU when omitted). The loop only
/// trains and validates; everything else a run does is an ordered callback (<see cref="CallbackOrder"/>).
/// Runs on the calling thread (TorchSharp dispose scopes are per thread: run it on one
/// long-running thread), one dispose scope per step.
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
    RunControl? control = null,
    Device? device = null,
    IReadOnlyList<float>? classWeights = null)
{
    private readonly Device device = device ?? CPU;

    private readonly IReadOnlyList<ITrainingCallback> callbacks = new ITrainingCallback[]
    {
        new PauseGate(control ?? new RunControl()), new HeadOnlyPhase(), new LearningRateScheduling(), new ThroughputMeter(),
        new ModelSaving(), new MetricsWriter(run), new EventPublisher(events), new TelemetryRecording(), new Checkpointing(), new TimeBudget(), new EarlyStopping(),
    }.Concat(callbacks ?? []).OrderBy(c => c.Order).ToList();

    public TrainingSummary Run(bool resume, CancellationToken cancellationToken)
    {
        network.to(device);
        random.manual_seed(options.Seed);
        // Frozen for the whole run, so the optimiser never holds them; the head-only phase is a callback.
        if (options.FreezeEarlyLayers) network.Backbone.FreezeEarlyLayers();
        if (options.FreezeBatchNormStatistics) network.Backbone.FreezeBatchNormStatistics();
        using var optimizer = CreateOptimizer();
        using var weights = classWeights is null ? null : tensor(classWeights.ToArray(), device: device);
        weightsTensor = weights;
        var context = Start(optimizer, resume, cancellationToken);
        try
        {
            while (context.Epoch < options.Epochs && !context.StopRequested)
            {
                var (lossSum, correct, seen) = TrainEpoch(context);
                if (context.StopStatus == RunStatus.Stopped) break;
                EndEpoch(context, seen == 0 ? 0 : lossSum / seen, seen == 0 ? 0 : correct / seen);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.RequestStop(RunStatus.Stopped); // the loader and the pause wait end a cancelled epoch this way
        }
        catch (Exception ex)
        {
            End(context, RunStatus.Failed, ex.Message);
            throw;
        }
        var status = End(context, context.StopStatus ?? RunStatus.Completed, null);
        return new TrainingSummary(run.RunId, status, context.Step, context.EpochsCompleted, context.BestAccuracy, context.LastValidationLoss,
            context.ImagesPerSecond, context.ElapsedSeconds);
    }

    private (double LossSum, double Correct, long Seen) TrainEpoch(TrainingContext context)
    {
        double lossSum = 0, correctSum = 0;
        long seen = 0;
        foreach (var cb in callbacks) cb.OnEpochStarting(context);
        foreach (var loaded in train.Epoch(context.Epoch, context.BatchInEpoch, context.Cancellation))
        {
            using var scope = NewDisposeScope();
            using var owned = loaded;
            using var batch = new LabelledBatch(loaded.Images.to(device), loaded.Labels.to(device), loaded.Targets?.to(device));
            if (!BeforeBatch(context, batch)) break;

            var (loss, correct, count) = Step(context, batch);
            context.Step++;
            context.BatchInEpoch++;
            (lossSum, correctSum, seen) = (lossSum + loss * count, correctSum + correct, seen + count);
            foreach (var cb in callbacks) cb.OnStepEnded(context, count);
            var ended = new BatchEnded(run.RunId, context.Step, DateTimeOffset.UtcNow, context.Epoch, context.BatchInEpoch, context.BatchesPerEpoch,
                context.TotalSteps, loss, (double)correct / count, context.LearningRate, context.ImagesPerSecond, context.EstimatedRemaining);
            foreach (var cb in callbacks) cb.OnBatchEnded(context, ended);
            if (context.StopRequested) break;
        }
        return (lossSum, correctSum, seen);
    }

    /// <summary>
    /// False when the run is to stop before this batch. A stop (or a cancellation, say during a pause)
    /// also skips the hooks still to come, so a batch that is never trained changes no state that a
    /// checkpoint would record (the random generator, for one).
    /// </summary>
    private bool BeforeBatch(TrainingContext context, LabelledBatch batch)
    {
        foreach (var cb in callbacks)
        {
            if (Stopping(context)) return false;
            cb.OnBatchStarting(context, batch);
        }
        return !Stopping(context);
    }

    private static bool Stopping(TrainingContext context)
    {
        if (context.Cancellation.IsCancellationRequested) context.RequestStop(RunStatus.Stopped);
        return context.StopRequested;
    }

    private (double Loss, long Correct, int Count) Step(TrainingContext context, LabelledBatch batch)
    {
        var logits = network.call(batch.Images);
        var loss = Loss(logits, batch.Labels, batch.Targets, training: true).mean();
        context.Optimizer.zero_grad();
        loss.backward();
        context.Optimizer.step();
        // Accuracy counts photos with a product; an empty scene has no right answer to name.
        var labelled = batch.Labels.ge(0);
        var correct = logits.argmax(1).eq(batch.Labels).logical_and(labelled).sum().item<long>();
        return (loss.item<float>(), correct, (int)Math.Max(1, labelled.sum().item<long>()));
    }

    private Tensor? weightsTensor;

    /// <summary>
    /// The loss of each photo, [B]. Softmax: cross-entropy with label smoothing. Sigmoid: binary
    /// cross-entropy over every category against the multi-hot targets (one-hot from the labels where
    /// a batch has none), summed over categories. In <paramref name="training"/> each photo is weighed by
    /// its (first) product's class weight and softmax targets are smoothed; validation reports the plain loss.
    /// </summary>
    private Tensor Loss(Tensor logits, Tensor labels, Tensor? targets, bool training)
    {
        Tensor perImage;
        if (options.Output == ClassOutput.Sigmoid)
        {
            targets ??= nn.functional.one_hot(labels.clamp_min(0), logits.shape[1]).to_type(ScalarType.Float32).mul(labels.ge(0).unsqueeze(1));
            perImage = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction: nn.Reduction.None).sum(1);
        }
        else
        {
            perImage = nn.functional.cross_entropy(logits, labels, label_smoothing: training ? options.LabelSmoothing : 0, reduction: nn.Reduction.None);
        }
        if (training && weightsTensor is not null)
            perImage = perImage.mul(weightsTensor.index_select(0, labels.clamp_min(0)).where(labels.ge(0), 1f));
        return perImage;
    }

    private void EndEpoch(TrainingContext context, double trainLoss, double trainAccuracy)
    {
        var result = Validate(context.Cancellation);
        var isBest = result.Accuracy > context.BestAccuracy;
        if (isBest) (context.BestAccuracy, context.BestEpoch) = (result.Accuracy, context.Epoch);
        context.LastValidationLoss = result.Loss;
        var ended = new EpochEnded(run.RunId, context.Step, DateTimeOffset.UtcNow, context.Epoch, trainLoss, trainAccuracy, result, isBest);
        foreach (var cb in callbacks) cb.OnEpochEnded(context, ended);
        context.EpochsCompleted = context.Epoch + 1;
        if (context.StopRequested) return;
        context.Epoch++;
        context.BatchInEpoch = 0;
    }

    private TrainingContext Start(optim.Optimizer optimizer, bool resume, CancellationToken cancellationToken)
    {
        var position = new TrainingPosition(0, 0, 0, -1, -1, 0, "");
        if (resume && Checkpoint.Find(run.Paths.CheckpointFolder) is not null)
        {
            position = Checkpoint.Load(run.Paths.CheckpointFolder, network, optimizer);
            Checkpoint.RestoreRng(position.RngState);
            run.TruncateAfter(position.Step);
        }
        else if (resume)
        {
            // Stopped before its first checkpoint: it starts again, so what it recorded goes.
            run.TruncateAfter(-1);
        }
        var context = new TrainingContext(network, optimizer, device, options, run, categories, events, callbacks, train.BatchesPerEpoch, position, cancellationToken);
        network.train();
        context.ChangeStatus(RunStatus.Running, resume && context.Step > 0 ? $"resumed at step {context.Step}" : null);
        foreach (var cb in callbacks) cb.OnRunStarted(context);
        return context;
    }

    private RunStatus End(TrainingContext context, RunStatus status, string? message)
    {
        context.ChangeStatus(status, message);
        foreach (var cb in callbacks) cb.OnRunEnded(context, status);
        return status;
    }

    /// <summary>
    /// Two parameter groups, in this order: the head (and input normalisation) at the full rate, the
    /// trainable backbone at <see cref="TrainingOptions.BackboneLearningRateScale"/> of it
    /// (<see cref="TrainingContext.LearningRateScales"/> says so to the schedule).
    /// </summary>
    private optim.Optimizer CreateOptimizer()
    {
        var backbone = network.Backbone.parameters().Where(p => p.requires_grad).ToHashSet();
        var head = network.parameters().Where(p => p.requires_grad && !backbone.Contains(p)).ToList();
        var rate = options.LearningRate;
        var scaled = rate * options.BackboneLearningRateScale;
        return options.Optimizer switch
        {
            OptimizerKind.SgdNesterov => optim.SGD(
                [new TorchSharp.Modules.SGD.ParamGroup(head, lr: rate, momentum: options.Momentum, nesterov: true, weight_decay: options.WeightDecay),
                 new TorchSharp.Modules.SGD.ParamGroup(backbone, lr: scaled, momentum: options.Momentum, nesterov: true, weight_decay: options.WeightDecay)],
                rate, momentum: options.Momentum, nesterov: true, weight_decay: options.WeightDecay),
            _ => optim.AdamW(
                [new TorchSharp.Modules.AdamW.ParamGroup(head, lr: rate, weight_decay: options.WeightDecay),
                 new TorchSharp.Modules.AdamW.ParamGroup(backbone, lr: scaled, weight_decay: options.WeightDecay)],
                rate, weight_decay: options.WeightDecay),
        };
    }

    /// <summary>Accuracy, loss, per-class accuracy and confusion over the whole validation split.</summary>
    public ValidationResult Validate(CancellationToken cancellationToken)
    {
        var confusion = new ConfusionMatrix(categories.Count);
        double lossSum = 0;
        using var mode = new EvaluationMode(network);
        using var noGrad = no_grad();
        foreach (var batch in validation.Epoch(0, 0, cancellationToken))
        {
            using var scope = NewDisposeScope();
            using var owned = batch;
            var labels = batch.Labels.to(device);
            var logits = network.call(batch.Images.to(device));
            lossSum += Loss(logits, labels, targets: null, training: false).sum().item<float>();
            confusion.Add(labels.cpu().data<long>().ToArray(), logits.argmax(1).cpu().data<long>().ToArray());
        }
        return ValidationResult.FromConfusion(confusion, lossSum);
    }
}
