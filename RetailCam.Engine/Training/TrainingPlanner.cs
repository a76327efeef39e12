using System.Globalization;
using RetailCam.Engine.Data;
using RetailCam.Engine.Models;

namespace RetailCam.Engine.Training;

/// <summary>One setting of a run, what it is and why: chosen for the dataset, or as the user asked.</summary>
public sealed record PlanChoice(string Setting, string Value, string Reason);

/// <summary>The settings a run trains with, and the record of how each was reached.</summary>
public sealed record TrainingPlan(TrainingOptions Options, IReadOnlyList<PlanChoice> Choices, DatasetProfile Profile);

/// <summary>
/// The one rule that turns a dataset and a user's settings into a run's settings. Each choice and
/// the figures behind it are in docs/ARCHITECTURE.md ("Training defaults"); settings the user gave
/// are kept as given.
/// </summary>
public static class TrainingPlanner
{
    /// <summary>Below this many training photos a dataset is "small": it keeps ImageNet's top stage and moves its features gently.</summary>
    public const int SmallDatasetImages = 10_000;

    /// <summary>The default budget: a run and its evaluation fit in 20 minutes on a 2-core CPU.</summary>
    public static readonly TimeSpan DefaultTimeBudget = TimeSpan.FromMinutes(15);

    /// <summary>Optimiser steps a run aims for: enough for the cosine schedule to anneal on any dataset size.</summary>
    public const int TargetSteps = 3000;

    public const int MinimumPlannedSide = 64;
    public const int MaximumPlannedSideCpu = 160;
    public const int MaximumPlannedSideAccelerated = 224;

    /// <summary>
    /// Scenes train at least this side: their products span a quarter to five eighths of it, so at 128 px
    /// a product covers 2–5 cells of the 16-px class map; at 64 px it would be one or two, too few to learn edges from.
    /// </summary>
    public const int MinimumSceneSide = 128;

    /// <param name="accelerated">True when training runs on a GPU, where larger inputs are affordable.</param>
    public static TrainingPlan Plan(DatasetProfile profile, TrainingSettings settings, bool accelerated = false)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(settings);
        var choices = new List<PlanChoice>();
        T Choose<T>(string name, T? given, Func<(T Value, string Reason)> auto) where T : struct
        {
            if (given is { } value)
            {
                choices.Add(new PlanChoice(name, Format(value), "as asked"));
                return value;
            }
            var (chosen, reason) = auto();
            choices.Add(new PlanChoice(name, Format(chosen), reason));
            return chosen;
        }

        var small = profile.TrainImages < SmallDatasetImages;
        var size = small ? "small" : "large";
        var imageSize = Choose("imageSize", settings.ImageSize, () => PlanImageSize(profile, accelerated));
        var batch = Choose("batchSize", settings.BatchSize, () => profile.TrainImages < 2000
            ? (32, $"{profile.TrainImages} training photos: smaller batches give more steps per epoch")
            : (64, $"{profile.TrainImages} training photos"));
        var stepsPerEpoch = Math.Max(1, (profile.TrainImages + batch - 1) / batch);
        var epochs = Choose("epochs", settings.Epochs, () =>
        {
            var wanted = (int)Math.Clamp(Math.Ceiling((double)TargetSteps / stepsPerEpoch), 3, 300);
            return (wanted, $"about {TargetSteps} steps at {stepsPerEpoch} steps per epoch (the time budget may end it sooner)");
        });
        var plannedSteps = (long)epochs * stepsPerEpoch;
        var budget = Choose("timeBudget", settings.TimeBudget, () => (DefaultTimeBudget, "fits a run and its evaluation in 20 minutes on a 2-core CPU"));
        var output = Choose("output", settings.Output, () => (ClassOutput.Sigmoid, "each category keeps its own confidence: several products in one photo, and photos of none"));
        var scenes = Choose("sceneProbability", settings.SceneProbability, () => output != ClassOutput.Sigmoid
            ? (0.0, "scenes need the sigmoid output")
            : small
                ? (0.5, $"half the training photos become shop scenes of 1–3 products ({profile.PackShotShare:P0} of the sampled photos are plain-background pack-shots and are cut out; the rest are pasted whole)")
                : (0.3, $"a third of the training photos become shop scenes of 1–3 products ({profile.PackShotShare:P0} of the sampled photos are plain-background pack-shots and are cut out; the rest are pasted whole); a large catalogue spends most steps on its plain photos"));
        var sceneSide = Choose("sceneImageSize", settings.SceneImageSize, () => scenes <= 0 || imageSize >= MinimumSceneSide || settings.ImageSize is not null
            ? (0, scenes <= 0 ? "no scenes" : settings.ImageSize is not null ? $"scenes train at the image side that was asked for, {imageSize} px" : $"scenes train at the image side, {imageSize} px")
            : (MinimumSceneSide, $"scenes train in batches of their own at {MinimumSceneSide} px, so a product spans several cells of the class map; plain photos stay at {imageSize} px"));
        // Measured on both demo catalogues (docs/ARCHITECTURE.md): the dilated layer4 trained 2.5× slower
        // on the clip art, for the same held-out accuracy and worse boxes in the same budget.
        var trunk = Choose("trunk", settings.Trunk, () =>
            (ResNet18CamTrunk.Layer3, "the trunk cut after layer3: as accurate as the dilated layer4 in the same time on both demo catalogues, 2.5× faster and finer maps"));
        var backboneScale = Choose("backboneLearningRateScale", settings.BackboneLearningRateScale, () => small
            ? (0.1, $"{size} dataset: pretrained features move at a tenth of the head's rate")
            : (1.0, $"{size} dataset: the backbone adapts at the full rate"));
        var probeStart = Choose("probeStart", settings.ProbeStart, () => small
            ? (true, $"{size} dataset: the head starts as a logistic regression fitted on the pretrained features (LP-FT), so fine-tuning starts where a linear probe ends")
            : (false, $"{size} dataset: a fresh head soon fits; the probe's feature pass would cost more than it saves"));
        var frozenStatistics = Choose("freezeBatchNormStatistics", settings.FreezeBatchNormStatistics, () => small
            ? (true, $"{size} dataset: BatchNorm keeps ImageNet's statistics; a few hundred photos, half of them scenes, would re-estimate them badly and unfit the probe-started head")
            : (false, $"{size} dataset: BatchNorm statistics adapt to the catalogue"));
        var headOnly = Choose("headOnlySteps", settings.HeadOnlySteps, () => probeStart
            ? ((int)Math.Max(10, plannedSteps * 0.02), "the probe-started head is already fitted: a short head-only start while the schedule warms up")
            : ((int)Math.Max(10, plannedSteps * (small ? 0.1 : 0.02)), small
                ? "a tenth of the run trains the head alone first, so fine-tuning starts from a fitted head"
                : "a short head-only start; a large dataset soon corrects a fresh head"));
        var warmup = Choose("warmupSteps", settings.WarmupSteps, () => ((int)Math.Max(10, plannedSteps * 0.03), "3 % of the planned steps"));
        var patience = Choose("earlyStoppingPatience", settings.EarlyStoppingPatience, () => small
            ? (Math.Max(5, epochs / 6), "stop once validation accuracy has not improved for a sixth of the epochs, after half the run")
            : (Math.Max(2, epochs / 3), "stop once validation accuracy has not improved for a third of the epochs, after half the run"));
        var balance = Choose("balanceClasses", settings.BalanceClasses, () => profile.Imbalance > 1.5
            ? (true, $"largest category has {profile.Imbalance.ToString("F1", CultureInfo.InvariantCulture)}× the photos of the smallest: losses weighed by inverse frequency")
            : (false, $"categories are even (largest/smallest {profile.Imbalance.ToString("F1", CultureInfo.InvariantCulture)})"));
        var learningRate = Choose("learningRate", settings.LearningRate, () => (1e-3, "AdamW's usual rate for the fresh head"));
        var optimizer = Choose("optimizer", settings.Optimizer, () => (OptimizerKind.AdamW, "decoupled weight decay, robust without tuning"));

        var options = new TrainingOptions
        {
            Epochs = epochs,
            BatchSize = batch,
            ImageSize = imageSize,
            LearningRate = learningRate,
            Optimizer = optimizer,
            TimeBudget = budget == TimeSpan.Zero ? null : budget,
            WarmupSteps = warmup,
            HeadOnlySteps = headOnly,
            Output = output,
            Trunk = trunk,
            SceneProbability = scenes,
            SceneImageSize = sceneSide,
            BackboneLearningRateScale = backboneScale,
            EarlyStoppingPatience = patience,
            BalanceClasses = balance,
            ProbeStart = probeStart,
            FreezeBatchNormStatistics = frozenStatistics,
            WeightDecay = settings.WeightDecay,
            Momentum = settings.Momentum,
            FreezeEarlyLayers = settings.FreezeEarlyLayers,
            SnapshotEverySteps = settings.SnapshotEverySteps,
            ProbeCount = settings.ProbeCount,
            CheckpointEverySteps = settings.CheckpointEverySteps,
            Seed = settings.Seed,
            LabelSmoothing = settings.LabelSmoothing,
        };
        return new TrainingPlan(options, choices, profile);
    }

    /// <summary>The photos' own resolution, rounded down to 32, within 64 and what the device affords.</summary>
    private static (int, string) PlanImageSize(DatasetProfile profile, bool accelerated)
    {
        var cap = accelerated ? MaximumPlannedSideAccelerated : MaximumPlannedSideCpu;
        var side = profile.MedianShortSide;
        if (side <= 0) return (MinimumPlannedSide, "no photo size could be read");
        var chosen = Math.Clamp(side / 32 * 32, MinimumPlannedSide, cap);
        var why = chosen == cap && side > cap
            ? $"photos are {side} px (median shorter side); {cap} px is what a {(accelerated ? "GPU" : "CPU")} run affords"
            : chosen == MinimumPlannedSide && side < MinimumPlannedSide
                ? $"photos are {side} px; {MinimumPlannedSide} px is the least that leaves a 4×4 class map"
                : $"photos are {side} px (median shorter side)";
        return (chosen, why);
    }

    private static string Format<T>(T value) => value switch
    {
        double d => d.ToString("G4", CultureInfo.InvariantCulture),
        TimeSpan t => t == TimeSpan.Zero ? "none" : t.ToString("c", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        Enum e => e.ToString(),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
