using RetailCam.Engine.Models;
using RetailCam.Engine.Training;

namespace RetailCam.Web.Components.Runs;

/// <summary>What the new-run dialog collects; defaults are the engine's training defaults.</summary>
public sealed class NewRunForm
{
    private static readonly TrainingOptions Defaults = new();

    public int RootIndex { get; set; }
    public string Folder { get; set; } = "demo/catalogue";
    public BackboneKind Backbone { get; set; } = BackboneKind.ResNet18;
    public int Epochs { get; set; } = Defaults.Epochs;
    public int BatchSize { get; set; } = Defaults.BatchSize;
    public int ImageSize { get; set; } = Defaults.ImageSize;
    public double LearningRate { get; set; } = Defaults.LearningRate;
    public OptimizerKind Optimizer { get; set; } = Defaults.Optimizer;
    public int Probes { get; set; } = Defaults.ProbeCount;
    public int SnapshotEvery { get; set; } = Defaults.SnapshotEverySteps;
    public double? Minutes { get; set; }

    public TrainingOptions ToOptions() => Defaults with
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
