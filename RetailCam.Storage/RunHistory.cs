using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetailCam.Engine.Training;

namespace RetailCam.Storage;

/// <summary>
/// The database view of training runs, fed from run summaries and training events; the run folder
/// keeps the artefacts. Thread-safe: one short-lived context per call.
/// </summary>
public sealed class RunHistory(IDbContextFactory<RetailCamDbContext> contexts)
{
    private const int InsertAttempts = 3;

    /// <summary>
    /// Inserts the run, or overwrites every field of the stored one except its creation time and its
    /// epoch-derived figures where the stored ones are further along (a summary may be older than
    /// the epochs already recorded).
    /// </summary>
    public async Task<RunRecordEntity> UpsertAsync(RunRecordEntity run, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(run.Id);
        for (var attempt = 1; ; attempt++)
        {
            await using var context = await contexts.CreateDbContextAsync(cancellationToken);
            var stored = await context.Runs.SingleOrDefaultAsync(r => r.Id == run.Id, cancellationToken);
            if (stored is null)
            {
                stored = Copy(run);
                if (stored.CreatedUtc == default) stored.CreatedUtc = DateTime.UtcNow;
                context.Runs.Add(stored);
            }
            else
            {
                stored.DataFolder = run.DataFolder;
                stored.Backbone = run.Backbone;
                stored.Status = run.Status;
                stored.StartedUtc = run.StartedUtc ?? stored.StartedUtc;
                stored.FinishedUtc = run.FinishedUtc ?? stored.FinishedUtc;
                stored.BestAccuracy = Max(stored.BestAccuracy, run.BestAccuracy);
                stored.MaxBoxAcc = run.MaxBoxAcc ?? stored.MaxBoxAcc;
                stored.Steps = Math.Max(stored.Steps, run.Steps);
                stored.Epochs = Math.Max(stored.Epochs, run.Epochs);
                stored.ImagesPerSecond = run.ImagesPerSecond ?? stored.ImagesPerSecond;
                stored.OptionsJson = run.OptionsJson;
                stored.Error = run.Error;
                stored.DatasetId = run.DatasetId ?? stored.DatasetId;
                stored.DatasetVersion = run.DatasetVersion ?? stored.DatasetVersion;
                stored.ResumeOnStart = run.ResumeOnStart;
            }
            try
            {
                await context.SaveChangesAsync(cancellationToken);
                return Copy(stored); // callers get a snapshot, not an entity tied to a disposed context
            }
            catch (DbUpdateException ex) when (DbConstraint.IsDuplicateKey(ex) && attempt < InsertAttempts)
            {
                // Another writer inserted this run first: go round again and update theirs.
            }
        }
    }

    /// <summary>
    /// Applies a status change: the first Running sets the start time, a final status sets the finish
    /// time, a failure keeps its message as the error.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The run was never upserted.</exception>
    public async Task<RunRecordEntity> RecordStatusAsync(StatusChanged change, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var stored = await context.Runs.SingleOrDefaultAsync(r => r.Id == change.RunId, cancellationToken)
            ?? throw new KeyNotFoundException($"Run '{change.RunId}' is not recorded; upsert it before its events.");
        var at = change.At.UtcDateTime;
        stored.Status = change.Status.ToString();
        stored.Steps = Math.Max(stored.Steps, change.Step);
        if (change.Status == RunStatus.Running)
        {
            stored.StartedUtc ??= at;
            stored.FinishedUtc = null; // a resumed run is no longer finished
            stored.Error = null;
        }
        if (change.Status is RunStatus.Completed or RunStatus.Stopped or RunStatus.Failed or RunStatus.Interrupted)
            stored.FinishedUtc = at;
        if (change.Status == RunStatus.Failed)
            stored.Error = change.Message;
        await context.SaveChangesAsync(cancellationToken);
        return Copy(stored); // callers get a snapshot, not an entity tied to a disposed context
    }

    /// <summary>
    /// Records an epoch's metrics once: returns false, changing nothing, when that epoch of that run
    /// is already stored (a resumed run replays epochs). Also advances the run's steps, epoch count
    /// and best accuracy.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The run was never upserted.</exception>
    public async Task<bool> AddEpochMetricAsync(EpochEnded epoch, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        var run = await context.Runs.SingleOrDefaultAsync(r => r.Id == epoch.RunId, cancellationToken)
            ?? throw new KeyNotFoundException($"Run '{epoch.RunId}' is not recorded; upsert it before its epochs.");
        var validation = epoch.Validation;
        context.EpochMetrics.Add(new EpochMetricEntity
        {
            RunId = epoch.RunId,
            Epoch = epoch.Epoch,
            Step = epoch.Step,
            TrainLoss = epoch.TrainLoss,
            TrainAccuracy = epoch.TrainAccuracy,
            ValidationLoss = validation.Loss,
            ValidationAccuracy = validation.Accuracy,
            PerClassJson = JsonSerializer.Serialize(validation.PerClassAccuracy),
            ConfusionJson = JsonSerializer.Serialize(validation.Confusion),
            AtUtc = epoch.At.UtcDateTime,
        });
        run.Steps = Math.Max(run.Steps, epoch.Step);
        run.Epochs = Math.Max(run.Epochs, epoch.Epoch + 1); // epochs count from 0
        run.BestAccuracy = Max(run.BestAccuracy, validation.Accuracy);
        try
        {
            await context.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException ex) when (DbConstraint.IsDuplicateKey(ex))
        {
            return false;
        }
    }

    /// <summary>Sets whether the next start of the app resumes the run (the app's shutdown stopped it); false when the run is not recorded.</summary>
    public async Task<bool> SetResumeOnStartAsync(string runId, bool resume, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.Runs.Where(r => r.Id == runId).ExecuteUpdateAsync(set => set.SetProperty(r => r.ResumeOnStart, resume), cancellationToken) > 0;
    }

    /// <summary>
    /// Runs a previous process of the app left unfinished, oldest first: those it was training, queueing or
    /// holding paused when it died, and those its shutdown stopped to resume later.
    /// </summary>
    public async Task<IReadOnlyList<RunRecordEntity>> UnfinishedAsync(CancellationToken cancellationToken = default)
    {
        string[] live = [nameof(RunStatus.Pending), nameof(RunStatus.Running), nameof(RunStatus.Paused)];
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.Runs.AsNoTracking().Where(r => live.Contains(r.Status) || r.ResumeOnStart)
            .OrderBy(r => r.CreatedUtc).ThenBy(r => r.Id).ToListAsync(cancellationToken);
    }

    /// <summary>All runs, newest first.</summary>
    public async Task<IReadOnlyList<RunRecordEntity>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.Runs.AsNoTracking().OrderByDescending(r => r.CreatedUtc).ThenBy(r => r.Id).ToListAsync(cancellationToken);
    }

    /// <summary>One run with its epoch metrics in epoch order, or null.</summary>
    public async Task<RunRecordEntity?> GetAsync(string runId, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.Runs.AsNoTracking()
            .Include(r => r.EpochMetrics.OrderBy(m => m.Epoch))
            .SingleOrDefaultAsync(r => r.Id == runId, cancellationToken);
    }

    /// <summary>Deletes the run's row and, through the foreign key, its epoch metrics; false when there was none.</summary>
    public async Task<bool> DeleteAsync(string runId, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.Runs.Where(r => r.Id == runId).ExecuteDeleteAsync(cancellationToken) > 0;
    }

    private static double? Max(double? stored, double? incoming) =>
        stored is null ? incoming : incoming is null ? stored : Math.Max(stored.Value, incoming.Value);

    private static RunRecordEntity Copy(RunRecordEntity run) => new()
    {
        Id = run.Id,
        DataFolder = run.DataFolder,
        Backbone = run.Backbone,
        Status = run.Status,
        CreatedUtc = run.CreatedUtc,
        StartedUtc = run.StartedUtc,
        FinishedUtc = run.FinishedUtc,
        BestAccuracy = run.BestAccuracy,
        MaxBoxAcc = run.MaxBoxAcc,
        Steps = run.Steps,
        Epochs = run.Epochs,
        ImagesPerSecond = run.ImagesPerSecond,
        OptionsJson = run.OptionsJson,
        Error = run.Error,
        DatasetId = run.DatasetId,
        DatasetVersion = run.DatasetVersion,
        ResumeOnStart = run.ResumeOnStart,
    };
}
