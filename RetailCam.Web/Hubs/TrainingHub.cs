using Microsoft.AspNetCore.SignalR;

namespace RetailCam.Web.Hubs;

/// <summary>What the server calls on clients of <see cref="TrainingHub"/>; the method names are the message names on the wire.</summary>
public interface ITrainingClient
{
    Task Progress(ProgressMessage message);
    Task Epoch(EpochMessage message);
    Task Status(StatusMessage message);
    Task Snapshot(SnapshotMessage message);
}

/// <summary>
/// Live training for remote clients (scripts, other services, `retailcam watch`). A client joins a
/// run's group, asks for the history it missed, then receives the live tail; it should drop events
/// whose step it already has, since a live event can arrive before the history that also holds it.
/// </summary>
public sealed class TrainingHub(RunQueries queries) : Hub<ITrainingClient>
{
    public static string GroupOf(string runId) => $"run:{runId}";

    /// <summary>Joins a run's group. The run need not exist yet, so a client can wait for one it is about to start.</summary>
    public Task JoinRun(string runId)
    {
        CheckRunId(runId);
        return Groups.AddToGroupAsync(Context.ConnectionId, GroupOf(runId), Context.ConnectionAborted);
    }

    public Task LeaveRun(string runId)
    {
        CheckRunId(runId);
        return Groups.RemoveFromGroupAsync(Context.ConnectionId, GroupOf(runId), Context.ConnectionAborted);
    }

    /// <summary>Everything the run stored from <paramref name="sinceStep"/> on.</summary>
    public async Task<RunHistoryMessage> GetHistory(string runId, long sinceStep = 0)
    {
        CheckRunId(runId);
        return await queries.HistoryAsync(runId, sinceStep, Context.ConnectionAborted)
            ?? throw new HubException($"Unknown run '{runId}'.");
    }

    /// <summary>Live and stored runs, live ones first, then newest first.</summary>
    public Task<IReadOnlyList<RunSummaryMessage>> ListRuns() => queries.ListAsync(Context.ConnectionAborted);

    /// <summary>One run, or null when the server does not know it.</summary>
    public Task<RunSummaryMessage?> GetRun(string runId)
    {
        CheckRunId(runId);
        return queries.FindAsync(runId, Context.ConnectionAborted);
    }

    private static void CheckRunId(string runId)
    {
        // HubException is the only kind whose message reaches the client; a bad id is the caller's mistake.
        if (!RunQueries.IsValidRunId(runId)) throw new HubException($"'{runId}' is not a run id.");
    }
}
