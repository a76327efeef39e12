using RetailCam.Engine.Metrics;

namespace RetailCam.Engine.Training;

public enum RunStatus
{
    Pending,
    Running,
    Paused,
    Completed,
    Stopped,
    Failed,

    /// <summary>The process training it ended without stopping it (killed, crashed); it can resume from its last checkpoint.</summary>
    Interrupted,
}

/// <summary>Everything a run tells its observers. Each event carries the run id and the global step it belongs to.</summary>
public abstract record TrainingEvent(string RunId, long Step, DateTimeOffset At);

public sealed record BatchEnded(
    string RunId, long Step, DateTimeOffset At,
    int Epoch, int BatchInEpoch, int BatchesPerEpoch, long TotalSteps,
    double Loss, double Accuracy, double LearningRate, double ImagesPerSecond, TimeSpan? EstimatedRemaining)
    : TrainingEvent(RunId, Step, At);

public sealed record EpochEnded(
    string RunId, long Step, DateTimeOffset At,
    int Epoch, double TrainLoss, double TrainAccuracy, ValidationResult Validation, bool IsBest)
    : TrainingEvent(RunId, Step, At);

public sealed record StatusChanged(string RunId, long Step, DateTimeOffset At, RunStatus Status, string? Message)
    : TrainingEvent(RunId, Step, At);

/// <summary>A class-map snapshot of one probe image: the files are stored with the run so the history can be replayed.</summary>
public sealed record SnapshotTaken(
    string RunId, long Step, DateTimeOffset At,
    int ProbeIndex, string ProbePath, int TrueClass, int PredictedClass, double PredictedProbability,
    string TrueClassMapFile, string PredictedClassMapFile)
    : TrainingEvent(RunId, Step, At);

/// <summary>Held-out metrics: accuracy, loss, per-class accuracy and the confusion matrix (rows: true class, columns: predicted).</summary>
public sealed record ValidationResult(double Accuracy, double Loss, double[] PerClassAccuracy, int[][] Confusion, int Samples)
{
    /// <summary>A class without validation samples scores 0, so the per-class array keeps one entry per category.</summary>
    public static ValidationResult FromConfusion(ConfusionMatrix confusion, double lossSum)
    {
        var samples = confusion.Samples;
        var perClass = Enumerable.Range(0, confusion.Classes).Select(c => confusion.ClassAccuracy(c) ?? 0).ToArray();
        return new ValidationResult(confusion.Accuracy, samples == 0 ? 0 : lossSum / samples, perClass, confusion.ToArray(), samples);
    }
}
