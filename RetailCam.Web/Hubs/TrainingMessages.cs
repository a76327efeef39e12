using RetailCam.Engine.Training;
using RetailCam.Storage;

namespace RetailCam.Web.Hubs;

// The wire contract of /hubs/training and /api/runs: plain records serialised as camelCase JSON.
// Engine event records are not sent as they are, so the Engine can change without breaking remote
// clients, and so snapshot messages can carry URLs instead of paths on the server's disk.

/// <summary>Sent as "Progress" after every training step (a slow client may miss some; steps only ever increase).</summary>
public sealed record ProgressMessage(
    string RunId, long Step, DateTimeOffset At, int Epoch, int BatchInEpoch, int BatchesPerEpoch, long TotalSteps,
    double Loss, double Accuracy, double LearningRate, double ImagesPerSecond, double? EstimatedRemainingSeconds);

/// <summary>Sent as "Epoch" when an epoch has been validated.</summary>
public sealed record EpochMessage(
    string RunId, long Step, DateTimeOffset At, int Epoch, double TrainLoss, double TrainAccuracy,
    double ValidationAccuracy, double ValidationLoss, double[] PerClassAccuracy, int[][] Confusion, int ValidationSamples, bool IsBest);

/// <summary>Sent as "Status" when a run starts, pauses, resumes or ends; <see cref="Status"/> is a <see cref="RunStatus"/> name.</summary>
public sealed record StatusMessage(string RunId, long Step, DateTimeOffset At, string Status, string? Message);

/// <summary>Sent as "Snapshot" when the class maps of one probe image were filmed; the URLs are relative to the server.</summary>
public sealed record SnapshotMessage(
    string RunId, long Step, DateTimeOffset At, int ProbeIndex, string ProbePath, int TrueClass, int PredictedClass,
    double PredictedProbability, string ProbeUrl, string TrueClassMapUrl, string PredictedClassMapUrl);

/// <summary>One run as lists show it: live runs report their latest step, finished ones what the history database holds.</summary>
public sealed record RunSummaryMessage(
    string RunId, string Status, bool Live, long Steps, long? TotalSteps, int Epochs, double? BestAccuracy, string Backbone, DateTime CreatedUtc);

/// <summary>What a run stored from a step on, each list in step order: what a late joiner needs before the live tail.</summary>
public sealed record RunHistoryMessage(
    string RunId, long SinceStep, RunSummaryMessage? Run,
    IReadOnlyList<ProgressMessage> Progress, IReadOnlyList<EpochMessage> Epochs,
    IReadOnlyList<StatusMessage> Statuses, IReadOnlyList<SnapshotMessage> Snapshots);

public static class TrainingMessages
{
    public static ProgressMessage From(BatchEnded e) => new(
        e.RunId, e.Step, e.At, e.Epoch, e.BatchInEpoch, e.BatchesPerEpoch, e.TotalSteps,
        e.Loss, e.Accuracy, e.LearningRate, e.ImagesPerSecond, e.EstimatedRemaining?.TotalSeconds);

    public static EpochMessage From(EpochEnded e) => new(
        e.RunId, e.Step, e.At, e.Epoch, e.TrainLoss, e.TrainAccuracy,
        e.Validation.Accuracy, e.Validation.Loss, e.Validation.PerClassAccuracy, e.Validation.Confusion, e.Validation.Samples, e.IsBest);

    public static StatusMessage From(StatusChanged e) => new(e.RunId, e.Step, e.At, e.Status.ToString(), e.Message);

    public static SnapshotMessage From(SnapshotTaken e) => new(
        e.RunId, e.Step, e.At, e.ProbeIndex, e.ProbePath, e.TrueClass, e.PredictedClass, e.PredictedProbability,
        ProbeUrl(e.RunId, e.ProbeIndex), SnapshotUrl(e.RunId, e.TrueClassMapFile), SnapshotUrl(e.RunId, e.PredictedClassMapFile));

    public static string SnapshotUrl(string runId, string file) =>
        $"/api/runs/{Uri.EscapeDataString(runId)}/snapshots/{Uri.EscapeDataString(Path.GetFileName(file))}";

    public static string ProbeUrl(string runId, int probe) => $"/api/runs/{Uri.EscapeDataString(runId)}/probes/{probe}.png";

    public static RunSummaryMessage Summary(RunRecordEntity record) => new(
        record.Id, record.Status, Live: false, record.Steps, TotalSteps: null, record.Epochs, record.BestAccuracy, record.Backbone, record.CreatedUtc);

    /// <summary>Groups stored events by kind; the order within each kind is kept.</summary>
    public static RunHistoryMessage History(string runId, long sinceStep, RunSummaryMessage? run, IEnumerable<TrainingEvent> events)
    {
        List<ProgressMessage> progress = [];
        List<EpochMessage> epochs = [];
        List<StatusMessage> statuses = [];
        List<SnapshotMessage> snapshots = [];
        foreach (var e in events)
        {
            switch (e)
            {
                case BatchEnded batch: progress.Add(From(batch)); break;
                case EpochEnded epoch: epochs.Add(From(epoch)); break;
                case StatusChanged status: statuses.Add(From(status)); break;
                case SnapshotTaken snapshot: snapshots.Add(From(snapshot)); break;
            }
        }
        return new RunHistoryMessage(runId, sinceStep, run, progress, epochs, statuses, snapshots);
    }
}
