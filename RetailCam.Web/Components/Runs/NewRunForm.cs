using RetailCam.Engine.Models;
using RetailCam.Engine.Training;

namespace RetailCam.Web.Components.Runs;

/// <summary>
/// What the new-run dialog collects, starting from the configured defaults (RetailCam:Training). A
/// field left empty is "auto": the engine's planner chooses it for the dataset, as the CLI does.
/// </summary>
public sealed class NewRunForm(TrainingSettings defaults)
{
    public int RootIndex { get; set; }
    public string Folder { get; set; } = "demo/catalogue";
    public BackboneKind Backbone { get; set; } = BackboneKind.ResNet18;
    public int? Epochs { get; set; } = defaults.Epochs;
    public int? BatchSize { get; set; } = defaults.BatchSize;
    public int? ImageSize { get; set; } = defaults.ImageSize;
    public double? LearningRate { get; set; } = defaults.LearningRate;
    public OptimizerKind? Optimizer { get; set; } = defaults.Optimizer;
    public ResNet18CamTrunk? Trunk { get; set; } = defaults.Trunk;
    public double? SceneProbability { get; set; } = defaults.SceneProbability;
    public int Probes { get; set; } = defaults.ProbeCount;
    public int SnapshotEvery { get; set; } = defaults.SnapshotEverySteps;

    /// <summary>Minutes of training; 0 for no budget, empty for the planner's.</summary>
    public double? Minutes { get; set; } = defaults.TimeBudget?.TotalMinutes;

    public TrainingSettings ToSettings() => defaults with
    {
        Epochs = Epochs,
        BatchSize = BatchSize,
        ImageSize = ImageSize,
        LearningRate = LearningRate,
        Optimizer = Optimizer,
        Trunk = Trunk,
        SceneProbability = SceneProbability,
        ProbeCount = Probes,
        SnapshotEverySteps = SnapshotEvery,
        TimeBudget = Minutes is { } m ? TimeSpan.FromMinutes(m) : null,
    };
}
