using System.ComponentModel.DataAnnotations;
using RetailCam.Engine.Models;

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
    public const string SectionName = TrainingSettings.SectionName;

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

    public ClassOutput Output { get; init; } = ClassOutput.Softmax;

    /// <summary>Where the ResNet18 trunk ends (VGG16 ignores it).</summary>
    public ResNet18CamTrunk Trunk { get; init; } = ResNet18CamTrunk.Layer3;

    /// <summary>Share of training items composed into scenes of 1–3 products on shop backgrounds (needs <see cref="ClassOutput.Sigmoid"/>).</summary>
    [Range(0, 1)] public double SceneProbability { get; init; }

    /// <summary>
    /// Side of the scene batches (0 = <see cref="ImageSize"/>). Larger than the photos' side, scenes
    /// train in batches of their own at this side, so the class maps learn from enough cells per product
    /// while the catalogue's plain photos keep their own, cheaper side.
    /// </summary>
    [Range(0, MaxImageSize)] public int SceneImageSize { get; init; }

    /// <summary>The side scene batches are composed at.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int EffectiveSceneImageSize => SceneImageSize > 0 ? SceneImageSize : ImageSize;

    /// <summary>The backbone learns at this fraction of the head's rate: pretrained features move gently on small data.</summary>
    [Range(0.001, 1)] public double BackboneLearningRateScale { get; init; } = 1;

    /// <summary>Stop when validation accuracy has not improved for this many epochs, once half the run is done (0 = never).</summary>
    [Range(0, MaxEpochs)] public int EarlyStoppingPatience { get; init; }

    /// <summary>Start the head as a linear probe fitted on the pretrained features (LP-FT); the head's conv then has as many channels as the trunk.</summary>
    public bool ProbeStart { get; init; }

    /// <summary>Keep the backbone's BatchNorm statistics as pretrained for the whole run (their scale and shift still learn).</summary>
    public bool FreezeBatchNormStatistics { get; init; }

    /// <summary>Weigh each image's loss by the inverse frequency of its class, so small categories count as much as large ones.</summary>
    public bool BalanceClasses { get; init; }

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
        if (SceneProbability > 0 && Output != ClassOutput.Sigmoid)
            yield return new System.ComponentModel.DataAnnotations.ValidationResult("Scenes hold several products: they need the sigmoid output.", [nameof(SceneProbability)]);
        if (SceneImageSize is > 0 and < MinImageSize)
            yield return new System.ComponentModel.DataAnnotations.ValidationResult($"The scene side must be 0 (the image side) or at least {MinImageSize}.", [nameof(SceneImageSize)]);
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem of <see cref="Problems"/>.</summary>
    public TrainingOptions EnsureValid()
    {
        var problems = Problems();
        return problems.Count == 0 ? this : throw new ArgumentException("Invalid training settings: " + string.Join("; ", problems));
    }
}
