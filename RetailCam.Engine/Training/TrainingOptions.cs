using System.ComponentModel.DataAnnotations;

namespace RetailCam.Engine.Training;

public enum OptimizerKind
{
    /// <summary>SGD with Nesterov momentum, as the original CAM design trained.</summary>
    SgdNesterov,
    AdamW,
}

/// <summary>
/// Settings of one training run. A run keeps an immutable copy (records compare and serialise by value),
/// so a change in configuration never alters a run in flight.
/// </summary>
public sealed record TrainingOptions
{
    [Range(1, 10_000)] public int Epochs { get; init; } = 3;
    [Range(1, 4096)] public int BatchSize { get; init; } = 64;
    [Range(32, 1024)] public int ImageSize { get; init; } = 64;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;
    [Range(1e-7, 10)] public double LearningRate { get; init; } = 1e-3;
    [Range(0, 1)] public double WeightDecay { get; init; } = 0.05;
    [Range(0, 0.999)] public double Momentum { get; init; } = 0.9;

    /// <summary>Linear warm-up length, in steps, before the cosine decay.</summary>
    [Range(0, 1_000_000)] public int WarmupSteps { get; init; } = 100;

    /// <summary>Steps during which only the CAM head learns (backbone frozen), so the fresh head does not wreck pretrained features.</summary>
    [Range(0, 1_000_000)] public int HeadOnlySteps { get; init; } = 100;

    /// <summary>Keep the stem and first stage frozen throughout (about doubles speed at little accuracy cost).</summary>
    public bool FreezeEarlyLayers { get; init; } = true;

    /// <summary>Optional wall-clock budget; when set, the schedule follows elapsed time and training stops at the budget.</summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>Class-map snapshots of the probe images every this many steps (0 = never).</summary>
    [Range(0, 1_000_000)] public int SnapshotEverySteps { get; init; } = 50;

    /// <summary>Number of probe images taken from the validation split.</summary>
    [Range(0, 64)] public int ProbeCount { get; init; } = 4;

    /// <summary>Checkpoint every this many steps as well as at each epoch end and on stop (0 = only those).</summary>
    [Range(0, 1_000_000)] public int CheckpointEverySteps { get; init; } = 200;

    public int Seed { get; init; } = 1234;

    /// <summary>Label smoothing of the cross-entropy loss.</summary>
    [Range(0, 0.5)] public double LabelSmoothing { get; init; } = 0.1;
}
