using System.Diagnostics;
using RetailCam.Engine.Models;
using static TorchSharp.torch;

namespace RetailCam.Engine.Training;

/// <summary>What the callbacks of a run share: the network, where the run stands, and the way to stop it.</summary>
public sealed class TrainingContext(CamNetwork network, optim.Optimizer optimizer, Device device, TrainingOptions options, RunFolder run,
    IReadOnlyList<string> categories, TrainingEventStream events, IReadOnlyList<ITrainingCallback> callbacks, int batchesPerEpoch,
    TrainingPosition position, CancellationToken cancellation)
{
    private readonly Stopwatch clock = Stopwatch.StartNew();

    public CamNetwork Network { get; } = network;
    public optim.Optimizer Optimizer { get; } = optimizer;

    /// <summary>Where the network and every batch live; anything a callback computes with the network goes here too.</summary>
    public Device Device { get; } = device;

    public TrainingOptions Options { get; } = options;
    public RunFolder Run { get; } = run;
    public IReadOnlyList<string> Categories { get; } = categories;
    public CancellationToken Cancellation { get; } = cancellation;
    public int BatchesPerEpoch { get; } = batchesPerEpoch;
    public long TotalSteps { get; } = (long)options.Epochs * batchesPerEpoch;

    /// <summary>Batches trained so far over the whole run.</summary>
    public long Step { get; internal set; } = position.Step;

    public int Epoch { get; internal set; } = position.Epoch;

    /// <summary>Batches of <see cref="Epoch"/> trained so far; the next one to train has this index.</summary>
    public int BatchInEpoch { get; internal set; } = position.BatchInEpoch;

    public int EpochsCompleted { get; internal set; } = position.Epoch;
    public double BestAccuracy { get; internal set; } = position.BestAccuracy;
    public int BestEpoch { get; internal set; } = position.BestEpoch;
    public double LastValidationLoss { get; internal set; } = double.NaN;

    /// <summary>Wall-clock seconds of the run, including those before a resume.</summary>
    public double ElapsedSeconds => position.ElapsedSeconds + clock.Elapsed.TotalSeconds;

    /// <summary>Each parameter group's share of <see cref="LearningRate"/>: the head's 1, then the backbone's.</summary>
    public IReadOnlyList<double> LearningRateScales { get; } = [1.0, options.BackboneLearningRateScale];

    /// <summary>Set by the schedule before each step; reported in the batch's event.</summary>
    public double LearningRate { get; set; }

    /// <summary>Set by the throughput meter after each step; reported in the batch's event.</summary>
    public double ImagesPerSecond { get; set; }

    public TimeSpan? EstimatedRemaining { get; set; }

    /// <summary>The status the run ends with once a stop was requested, or null while it goes on.</summary>
    public RunStatus? StopStatus { get; private set; }

    public bool StopRequested => StopStatus is not null;

    /// <summary>
    /// Asks the loop to stop after the current hook: a time budget ends a run as completed (its
    /// epoch is still validated), a user's stop as stopped (with a checkpoint to resume from). The
    /// first request wins.
    /// </summary>
    public void RequestStop(RunStatus status = RunStatus.Completed) => StopStatus ??= status;

    /// <summary>Announces a status to every callback, in order: metrics.jsonl and the event stream are two of them.</summary>
    public void ChangeStatus(RunStatus status, string? message)
    {
        var changed = new StatusChanged(Run.RunId, Step, DateTimeOffset.UtcNow, status, message);
        foreach (var callback in callbacks) callback.OnStatusChanged(this, changed);
    }

    /// <summary>Tells every consumer of the run's event stream; thread-safe, never blocks (for work finished off the training thread).</summary>
    public void Publish(TrainingEvent trainingEvent) => events.Publish(trainingEvent);
}
