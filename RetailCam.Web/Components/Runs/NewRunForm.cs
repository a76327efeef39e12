using RetailCam.Engine.Models;
using RetailCam.Engine.Training;

namespace RetailCam.Web.Components.Runs;

/// <summary>What the new-run dialog collects, starting from the configured training defaults (RetailCam:Training).</summary>
public sealed class NewRunForm(TrainingOptions defaults)
{
    public int RootIndex { get; set; }
    public string Folder { get; set; } = "demo/catalogue";
    public BackboneKind Backbone { get; set; } = BackboneKind.ResNet18;
    public int Epochs { get; set; } = defaults.Epochs;
    public int BatchSize { get; set; } = defaults.BatchSize;
    public int ImageSize { get; set; } = defaults.ImageSize;
    public double LearningRate { get; set; } = defaults.LearningRate;
    public OptimizerKind Optimizer { get; set; } = defaults.Optimizer;
    public int Probes { get; set; } = defaults.ProbeCount;
    public int SnapshotEvery { get; set; } = defaults.SnapshotEverySteps;
    public double? Minutes { get; set; } = defaults.TimeBudget?.TotalMinutes;

    public TrainingOptions ToOptions() => defaults with
    {
        Epochs = Epochs,
        BatchSize = BatchSize,
        ImageSize = ImageSize,
        LearningRate = LearningRate,
        Optimizer = Optimizer,
        ProbeCount = Probes,
        SnapshotEverySteps = SnapshotEvery,
        TimeBudget = Minutes is { } m ? TimeSpan.FromMinutes(m) : null,
    };
}
