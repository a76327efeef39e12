using RetailCam.Engine.Layout;
using RetailCam.Storage;
using RetailCam.Web.Services;

namespace RetailCam.Web.Hubs;

/// <summary>
/// Run lists, single runs and stored histories, as the hub and the REST endpoints both answer them:
/// the history database for finished runs, overlaid with what live runs report now.
/// </summary>
public sealed partial class RunQueries(TrainingRunService runs, RunHistory history)
{
    /// <summary>
    /// Run ids name folders under the runs folder: anything that could step out of it (separators,
    /// "..") or is not a plain name is refused before it reaches a path.
    /// </summary>
    public static bool IsValidRunId(string? id) => PathSegment.IsValid(id);

    public async Task<IReadOnlyList<RunSummaryMessage>> ListAsync(CancellationToken cancellationToken = default)
    {
        var stored = await runs.ListAsync(cancellationToken);
        var live = runs.LiveRuns.ToDictionary(r => r.Id);
        var list = stored.Select(r => live.TryGetValue(r.Id, out var run) ? Overlay(TrainingMessages.Summary(r), run) : TrainingMessages.Summary(r)).ToList();
        // A run is recorded before its thread starts, so a live run missing from the database is rare but possible.
        list.AddRange(live.Values.Where(r => stored.All(s => s.Id != r.Id)).Select(r => Overlay(null, r)));
        return list.OrderByDescending(r => r.Live).ThenByDescending(r => r.CreatedUtc).ToList();
    }

    /// <summary>One run, or null when neither a live run nor the database knows it.</summary>
    public async Task<RunSummaryMessage?> FindAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (!IsValidRunId(runId)) return null;
        var record = await history.GetAsync(runId, cancellationToken);
        var live = runs.Live(runId) ?? (record is null ? null : runs.MirrorStored(record));
        if (live is not null) return Overlay(record is null ? null : TrainingMessages.Summary(record), live);
        return record is null ? null : TrainingMessages.Summary(record);
    }

    /// <summary>The stored events of a run from a step on, or null for an unknown run.</summary>
    public async Task<RunHistoryMessage?> HistoryAsync(string runId, long sinceStep, CancellationToken cancellationToken = default)
    {
        if (!IsValidRunId(runId)) return null;
        var run = await FindAsync(runId, cancellationToken);
        if (run is null && !Directory.Exists(runs.Paths(runId).Folder)) return null;
        return TrainingMessages.History(runId, sinceStep, run, runs.StoredEvents(runId, Math.Max(0, sinceStep)));
    }

    private static RunSummaryMessage Overlay(RunSummaryMessage? stored, LiveRun run) => new(
        run.Id, run.Status.ToString(), Live: true,
        Math.Max(run.LastBatch?.Step ?? 0, stored?.Steps ?? 0), run.LastBatch?.TotalSteps,
        stored?.Epochs ?? 0, stored?.BestAccuracy, stored?.Backbone ?? run.Spec.Backbone.ToString().ToLowerInvariant(),
        stored?.CreatedUtc ?? DateTime.UtcNow);

}
