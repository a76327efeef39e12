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
public sealed record TrainingOptions : IValidatableObject
{
    /// <summary>Defaults for new runs (CLI flags and the web's new-run dialog start from them).</summary>
    public const string SectionName = "RetailCam:Training";

    // The limits of the settings users type most, shared by the attributes, the CLI and the web dialog.
    public const int MaxEpochs = 10_000;
    public const int MaxBatchSize = 4096;
    public const int MinImageSize = 32;
    public const int MaxImageSize = 1024;
    public const int MaxProbeCount = 64;
    public const double MinLearningRate = 1e-7;
    public const double MaxLearningRate = 10;
    public const int MaxSteps = 1_000_000;

    [Range(1, MaxEpochs)] public int Epochs { get; init; } = 3;
    [Range(1, MaxBatchSize)] public int BatchSize { get; init; } = 64;
    [Range(MinImageSize, MaxImageSize)] public int ImageSize { get; init; } = 64;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;
    [Range(MinLearningRate, MaxLearningRate)] public double LearningRate { get; init; } = 1e-3;
    [Range(0, 1)] public double WeightDecay { get; init; } = 0.05;
    [Range(0, 0.999)] public double Momentum { get; init; } = 0.9;

    /// <summary>Linear warm-up length, in steps, before the cosine decay.</summary>
    [Range(0, MaxSteps)] public int WarmupSteps { get; init; } = 100;

    /// <summary>Steps during which only the CAM head learns (backbone frozen), so the fresh head does not wreck pretrained features.</summary>
    [Range(0, MaxSteps)] public int HeadOnlySteps { get; init; } = 100;

    /// <summary>Keep the stem and first stage frozen throughout (about doubles speed at little accuracy cost).</summary>
    public bool FreezeEarlyLayers { get; init; } = true;

    /// <summary>Optional wall-clock budget; when set, the schedule follows elapsed time and training stops at the budget.</summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>Class-map snapshots of the probe images every this many steps (0 = never).</summary>
    [Range(0, MaxSteps)] public int SnapshotEverySteps { get; init; } = 50;

    /// <summary>Number of probe images taken from the validation split.</summary>
    [Range(0, MaxProbeCount)] public int ProbeCount { get; init; } = 4;

    /// <summary>Checkpoint every this many steps as well as at each epoch end and on stop (0 = only those).</summary>
    [Range(0, MaxSteps)] public int CheckpointEverySteps { get; init; } = 200;

    public int Seed { get; init; } = 1234;

    /// <summary>Label smoothing of the cross-entropy loss.</summary>
    [Range(0, 0.5)] public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>What is wrong with these settings (one line per setting), empty when they are valid: the one check for configuration, the CLI, the web dialog and a run's start.</summary>
    public IReadOnlyList<string> Problems()
    {
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        return results.Select(r => r.ErrorMessage ?? "invalid setting").ToList();
    }

    public IEnumerable<System.ComponentModel.DataAnnotations.ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TimeBudget is { } budget && budget <= TimeSpan.Zero)
            yield return new System.ComponentModel.DataAnnotations.ValidationResult("The time budget must be positive.", [nameof(TimeBudget)]);
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem of <see cref="Problems"/>.</summary>
    public TrainingOptions EnsureValid()
    {
        var problems = Problems();
        return problems.Count == 0 ? this : throw new ArgumentException("Invalid training settings: " + string.Join("; ", problems));
    }
}
