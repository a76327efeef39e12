using System.ComponentModel.DataAnnotations;
using RetailCam.Engine.Models;

namespace RetailCam.Engine.Training;

/// <summary>
/// What a user asks of a run: every setting the planner can choose is nullable, and null means
/// "auto" (<see cref="TrainingPlanner"/> picks it from the dataset and says why). The CLI's flags, the
/// web's new-run dialog and the RetailCam:Training section all fill this, so all three share one rule.
/// </summary>
public sealed record TrainingSettings : IValidatableObject
{
    /// <summary>Defaults of new runs; any setting left out is chosen per dataset.</summary>
    public const string SectionName = "RetailCam:Training";

    [Range(1, TrainingOptions.MaxEpochs)] public int? Epochs { get; init; }
    [Range(1, TrainingOptions.MaxBatchSize)] public int? BatchSize { get; init; }
    [Range(TrainingOptions.MinImageSize, TrainingOptions.MaxImageSize)] public int? ImageSize { get; init; }
    [Range(TrainingOptions.MinLearningRate, TrainingOptions.MaxLearningRate)] public double? LearningRate { get; init; }
    public OptimizerKind? Optimizer { get; init; }

    /// <summary>Wall-clock budget; <see cref="TimeSpan.Zero"/> asks for none (the run ends with its epochs).</summary>
    public TimeSpan? TimeBudget { get; init; }

    [Range(0, TrainingOptions.MaxSteps)] public int? WarmupSteps { get; init; }
    [Range(0, TrainingOptions.MaxSteps)] public int? HeadOnlySteps { get; init; }
    public ClassOutput? Output { get; init; }
    public ResNet18CamTrunk? Trunk { get; init; }
    [Range(0, 1)] public double? SceneProbability { get; init; }
    [Range(0, TrainingOptions.MaxImageSize)] public int? SceneImageSize { get; init; }
    [Range(0.001, 1)] public double? BackboneLearningRateScale { get; init; }
    [Range(0, TrainingOptions.MaxEpochs)] public int? EarlyStoppingPatience { get; init; }
    public bool? BalanceClasses { get; init; }
    public bool? ProbeStart { get; init; }
    public bool? FreezeBatchNormStatistics { get; init; }

    // Settings the planner leaves as they are.
    [Range(0, 1)] public double WeightDecay { get; init; } = 0.05;
    [Range(0, 0.999)] public double Momentum { get; init; } = 0.9;
    public bool FreezeEarlyLayers { get; init; } = true;
    [Range(0, TrainingOptions.MaxSteps)] public int SnapshotEverySteps { get; init; } = 50;
    [Range(0, TrainingOptions.MaxProbeCount)] public int ProbeCount { get; init; } = 4;
    [Range(0, TrainingOptions.MaxSteps)] public int CheckpointEverySteps { get; init; } = 200;
    public int Seed { get; init; } = 1234;
    [Range(0, 0.5)] public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>Settings that leave the planner nothing to choose: the run uses exactly <paramref name="options"/>.</summary>
    public static TrainingSettings Exactly(TrainingOptions options) => new()
    {
        Epochs = options.Epochs,
        BatchSize = options.BatchSize,
        ImageSize = options.ImageSize,
        LearningRate = options.LearningRate,
        Optimizer = options.Optimizer,
        TimeBudget = options.TimeBudget ?? TimeSpan.Zero,
        WarmupSteps = options.WarmupSteps,
        HeadOnlySteps = options.HeadOnlySteps,
        Output = options.Output,
        Trunk = options.Trunk,
        SceneProbability = options.SceneProbability,
        SceneImageSize = options.SceneImageSize,
        BackboneLearningRateScale = options.BackboneLearningRateScale,
        EarlyStoppingPatience = options.EarlyStoppingPatience,
        BalanceClasses = options.BalanceClasses,
        ProbeStart = options.ProbeStart,
        FreezeBatchNormStatistics = options.FreezeBatchNormStatistics,
        WeightDecay = options.WeightDecay,
        Momentum = options.Momentum,
        FreezeEarlyLayers = options.FreezeEarlyLayers,
        SnapshotEverySteps = options.SnapshotEverySteps,
        ProbeCount = options.ProbeCount,
        CheckpointEverySteps = options.CheckpointEverySteps,
        Seed = options.Seed,
        LabelSmoothing = options.LabelSmoothing,
    };

    /// <summary>What is wrong with these settings, one line per setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        return results.Select(r => r.ErrorMessage ?? "invalid setting").ToList();
    }

    public IEnumerable<System.ComponentModel.DataAnnotations.ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TimeBudget is { } budget && budget < TimeSpan.Zero)
            yield return new System.ComponentModel.DataAnnotations.ValidationResult("The time budget must not be negative.", [nameof(TimeBudget)]);
    }
}
