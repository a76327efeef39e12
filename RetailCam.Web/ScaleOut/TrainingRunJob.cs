using Hangfire;
using RetailCam.Engine.Training;
using RetailCam.Storage;
using RetailCam.Web.Services;

namespace RetailCam.Web.ScaleOut;

/// <summary>
/// A training run as a job on a worker. The job is the run's lease: while it executes, this worker trains
/// the run; when the worker dies, the job engine hands the job to another worker, which resumes the run
/// from its last checkpoint (a run is always started as a resume: one without a checkpoint starts afresh).
/// </summary>
public sealed class TrainingRunJob(TrainingRunService runs, RunHistory history, ILogger<TrainingRunJob> logger)
{
    // A run that fails records Failed and returns; an exception here is the worker's own trouble (the
    // database, the shared folder) and worth another attempt, on this worker or another.
    [AutomaticRetry(Attempts = 3)]
    public async Task ExecuteAsync(string runId, bool paused, CancellationToken cancellationToken)
    {
        if (await history.GetAsync(runId, cancellationToken) is not { } row)
        {
            logger.LogWarning("Run {Run} is not in the history (deleted?): its job ends", runId);
            return;
        }
        if (!Takes(row))
        {
            logger.LogInformation("Run {Run} is {Status}: nothing to train", runId, row.Status);
            return;
        }
        var run = await runs.ResumeStoredAsync(row, paused || row.Status == nameof(RunStatus.Paused), cancellationToken);
        // The worker is stopping (or the job was deleted): the run checkpoints and stops where it is.
        await using (cancellationToken.Register(() => runs.Stop(runId)))
            await run.Completion;
        if (cancellationToken.IsCancellationRequested)
        {
            // Stopped by the worker, not by a user: the next worker to take the job resumes it.
            await history.SetResumeOnStartAsync(runId, true, CancellationToken.None);
            // Thrown, the job goes back to the queue instead of counting as done.
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Queued, or left mid-training by a worker that died or stopped; not one that ended or was stopped by a user.</summary>
    private static bool Takes(RunRecordEntity row) =>
        row.Status is nameof(RunStatus.Pending) or nameof(RunStatus.Running) or nameof(RunStatus.Paused)
        || row.Status == nameof(RunStatus.Stopped) && row.ResumeOnStart;
}
