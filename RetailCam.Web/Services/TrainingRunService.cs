using RetailCam.Engine;
using System.Collections.Concurrent;
using System.Text.Json;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Native;
using RetailCam.Engine.Training;
using RetailCam.Engine.Models;
using RetailCam.Storage;

namespace RetailCam.Web.Services;

/// <summary>
/// A run that this process is training now, or, on a web node of a cluster, one a worker trains: its
/// events arrive from the worker and its commands go to it.
/// </summary>
public sealed class LiveRun : IDisposable
{
    /// <summary>Trained by a worker process; this one mirrors it.</summary>
    public bool Remote { get; init; }
    internal TaskCompletionSource<TrainingJobResult?>? RemoteEnd { get; init; }

    public required string Id { get; init; }
    public required TrainingJobSpec Spec { get; init; }
    public TrainingEventStream Events { get; } = new();
    public RunControl Control { get; } = new();
    public CancellationTokenSource Cancellation { get; } = new();
    public Task<TrainingJobResult?> Completion { get; internal set; } = Task.FromResult<TrainingJobResult?>(null);
    public BatchEnded? LastBatch { get; internal set; }
    public RunStatus Status { get; internal set; } = RunStatus.Pending;

    public void Dispose()
    {
        Control.Dispose();
        Cancellation.Dispose();
    }
}

/// <summary>Asks the process training a run to change its course.</summary>
public enum RunCommand
{
    Pause,
    Resume,
    Stop,
}

/// <summary>Where a web node of a cluster sends the runs it does not train itself.</summary>
public interface IRunDispatcher
{
    /// <summary>Queues the run (its row is stored, Pending) for a worker, which resumes it from its checkpoint if it has one.</summary>
    Task EnqueueAsync(string runId, bool paused, CancellationToken cancellationToken);

    /// <summary>Tells whichever process trains the run.</summary>
    void Send(string runId, RunCommand command);

    /// <summary>Tells every node that a run no worker had taken yet was stopped.</summary>
    void PublishStoppedWhileQueued(StatusChanged stopped);
}

/// <summary>
/// Background training for the web app: starts runs on their own long-running threads, lets any
/// page pause, resume or stop them, keeps their history in the database, and replays what a run stored
/// so a viewer who arrives late sees everything before the live tail. With a <see cref="IRunDispatcher"/>
/// (a web node of a cluster) runs are trained by workers instead and mirrored here from their events.
/// </summary>
public sealed class TrainingRunService(DataRootLayout layout, TorchEnvironment torch, RunHistory history, Microsoft.Extensions.Options.IOptions<RunQueueOptions> queue,
    ILogger<TrainingRunService> logger, IRunDispatcher? dispatcher = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, LiveRun> live = new();

    private volatile bool shuttingDown;

    /// <summary>The app's shutdown has begun stopping runs: a run that ends Stopped now was stopped by it, to resume on the next start.</summary>
    public bool ShuttingDown => shuttingDown;

    /// <summary>At most RetailCam:Runs:MaxConcurrent runs train at once; the others wait here, in order.</summary>
    public RunSlots Slots { get; } = new(queue.Value.MaxConcurrent);

    /// <summary>Every event of every live run, for the SignalR hub and other process-wide listeners.</summary>
    public event Action<TrainingEvent>? EventPublished;

    /// <summary>A run started, ended or changed state: lists should refresh.</summary>
    public event Action? RunsChanged;

    /// <summary>A run this process trained has ended and left the live runs (its last events are delivered).</summary>
    public event Action<string>? RunEnded;

    /// <summary>Runs are trained by workers; this process mirrors them.</summary>
    public bool DispatchesRuns => dispatcher is not null;

    public LiveRun? Live(string id) => live.GetValueOrDefault(id);

    public IReadOnlyCollection<LiveRun> LiveRuns => live.Values.ToList();

    /// <summary>The stored runs, newest first; on a web node of a cluster, those a worker trains are mirrored here as they are listed.</summary>
    public async Task<IReadOnlyList<RunRecordEntity>> ListAsync(CancellationToken cancellationToken = default)
    {
        var rows = await history.ListAsync(cancellationToken);
        if (dispatcher is not null)
            foreach (var row in rows) MirrorStored(row);
        return rows;
    }

    public static string NewRunId(string? label) =>
        $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Slug(label ?? "run")}";

    /// <summary>Starts (or, with resume, continues) a run; returns at once with the live run.</summary>
    /// <param name="datasetId">The app's dataset the run trains on, recorded with the run (null for a folder picked by path).</param>
    /// <param name="paused">Start held (a run that was paused when the app stopped): it waits for Resume before its first batch.</param>
    public async Task<LiveRun> StartAsync(string runId, TrainingJobSpec spec, bool resume = false, string? datasetId = null, bool paused = false,
        CancellationToken cancellationToken = default)
    {
        if (shuttingDown) throw new InvalidOperationException("The app is shutting down; start the run after it restarts.");
        var run = new LiveRun { Id = runId, Spec = spec with { RunFolder = layout.Run(runId).Folder } };
        if (paused) run.Control.Pause();
        if (spec.Settings.Problems() is { Count: > 0 } problems)
            throw new ArgumentException("Invalid training settings: " + string.Join("; ", problems));
        if (dispatcher is not null)
        {
            run.Dispose();
            return await DispatchAsync(runId, spec, datasetId, paused, cancellationToken);
        }
        if (!live.TryAdd(runId, run)) throw new InvalidOperationException($"Run {runId} is already training.");
        RunRecordEntity Row(RunStatus status) => StoredRow(runId, spec, status, datasetId);
        await history.UpsertAsync(Row(RunStatus.Pending), cancellationToken);

        var recorder = run.Events.Subscribe(e => Record(run, e), batchEventCapacity: 4);
        var fanOut = run.Events.Subscribe(e => EventPublished?.Invoke(e), batchEventCapacity: 64);
        run.Completion = Task.Factory.StartNew(() =>
        {
            // A run outlives the request that started it: none of its work belongs in that request's trace.
            System.Diagnostics.Activity.Current = null;
            var holdsSlot = false;
            try
            {
                var turn = Slots.EnterAsync(runId, run.Cancellation.Token);
                if (!turn.IsCompleted) RunsChanged?.Invoke(); // the lists show it queued
                try
                {
                    turn.GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    // Through the run's own stream: the store and every live viewer learn it as from a run that trained.
                    run.Events.Publish(new StatusChanged(runId, 0, DateTimeOffset.UtcNow, RunStatus.Stopped, "Stopped while queued."));
                    return null;
                }
                holdsSlot = true;
                var result = TrainingJob.Run(run.Spec, torch.Device, run.Events, run.Control, resume, run.Cancellation.Token,
                    message => logger.LogInformation("Run {Run}: {Message}", runId, message));
                var finished = Row(result.Summary.Status);
                finished.BestAccuracy = result.Summary.BestValidationAccuracy;
                finished.Steps = result.Summary.Steps;
                finished.Epochs = result.Summary.EpochsCompleted;
                finished.ImagesPerSecond = result.Summary.ImagesPerSecond;
                finished.DatasetVersion = result.DatasetVersion;
                // Stopped by the app's shutdown rather than by a user: the next start takes it up again.
                finished.ResumeOnStart = shuttingDown && result.Summary.Status == RunStatus.Stopped;
                history.UpsertAsync(finished).GetAwaiter().GetResult();
                return result;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Run {Run} failed", runId);
                run.Status = RunStatus.Failed;
                history.RecordStatusAsync(new StatusChanged(runId, run.LastBatch?.Step ?? 0, DateTimeOffset.UtcNow, RunStatus.Failed, ex.Message))
                    .GetAwaiter().GetResult();
                return null;
            }
            finally
            {
                if (holdsSlot) Slots.Leave();
                // Disposing delivers what is still queued, so the last events reach every consumer.
                recorder.Dispose();
                fanOut.Dispose();
                live.TryRemove(runId, out _);
                RunsChanged?.Invoke();
                RunEnded?.Invoke(runId);
                run.Dispose();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        RunsChanged?.Invoke();
        return run;
    }

    /// <summary>Starts a run on an app dataset's folder with <paramref name="settings"/> (null fields: the planner's auto choices).</summary>
    public async Task<string> StartFromDatasetAsync(string datasetId, string datasetFolder, string label, TrainingSettings settings,
        BackboneKind backbone = BackboneKind.ResNet18, string? pretrainedFolder = null, CancellationToken cancellationToken = default)
    {
        var id = NewRunId(label);
        var spec = new TrainingJobSpec { DataFolder = datasetFolder, RunFolder = "", Backbone = backbone, Settings = settings, PretrainedFolder = pretrainedFolder };
        await StartAsync(id, spec, datasetId: datasetId, cancellationToken: cancellationToken);
        return id;
    }

    /// <summary>
    /// Takes up the runs a previous process of the app left unfinished (killed while training, queued or
    /// paused, or stopped by its shutdown), oldest first: each resumes from its last checkpoint, or, with
    /// <paramref name="resume"/> false, is marked Interrupted for a trainer to resume.
    /// </summary>
    /// <returns>The ids taken up, in the order they were.</returns>
    /// <param name="except">A run left to its own owner (the quick start resumes its run itself).</param>
    public async Task<IReadOnlyList<string>> RecoverAsync(bool resume, string? except = null, CancellationToken cancellationToken = default)
    {
        var recovered = new List<string>();
        foreach (var row in await history.UnfinishedAsync(cancellationToken))
        {
            if (live.ContainsKey(row.Id) || row.Id == except) continue;
            var step = LastCheckpointStep(row.Id);
            if (!resume)
            {
                await history.SetResumeOnStartAsync(row.Id, false, cancellationToken);
                await history.RecordStatusAsync(new StatusChanged(row.Id, step, DateTimeOffset.UtcNow, RunStatus.Interrupted,
                    $"The app stopped while the run was {row.Status.ToLowerInvariant()}; Resume continues it from step {step}."), cancellationToken);
                logger.LogWarning("Run {Run} was left {Status} by the previous start of the app: marked Interrupted (checkpoint at step {Step})", row.Id, row.Status, step);
            }
            else
            {
                logger.LogWarning("Run {Run} was left {Status} by the previous start of the app: resuming it from step {Step}", row.Id, row.Status, step);
                await ResumeStoredAsync(row, paused: row.Status == nameof(RunStatus.Paused), cancellationToken);
            }
            recovered.Add(row.Id);
        }
        return recovered;
    }

    /// <summary>
    /// Runs whose training completed but whose serving tuning a killed process never wrote: tuned now, on
    /// a background thread, so their model serves as the run meant it to. Returns the ids being tuned.
    /// </summary>
    public IReadOnlyList<string> FinishServingTuning(IEnumerable<RunRecordEntity> completed)
    {
        var untuned = completed.Where(r => r.Status == nameof(RunStatus.Completed) && PathSegment.IsValid(r.Id)
            && TrainingJob.AwaitsServingTuning(layout.Run(r.Id).Folder)).ToList();
        foreach (var row in untuned)
        {
            _ = Task.Factory.StartNew(() =>
            {
                try
                {
                    var tuning = TrainingJob.TuneServing(StoredSpec(row), torch.Device, CancellationToken.None, message => logger.LogInformation("Run {Run}: {Message}", row.Id, message));
                    logger.LogInformation("Run {Run}: serving tuned after the restart, up to {Side} px, temperature {Temperature:F2}", row.Id, tuning.ServeInputSize, tuning.Temperature);
                    RunsChanged?.Invoke();
                }
                catch (Exception ex)
                {
                    logger.LogError(ex, "Run {Run}: serving could not be tuned after the restart; its model serves untuned", row.Id);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        return untuned.Select(r => r.Id).ToList();
    }

    /// <summary>
    /// Continues a run that is not training (interrupted, stopped or failed) from its last checkpoint, with
    /// the settings it started with; false when the run is unknown or already live.
    /// </summary>
    public async Task<bool> ContinueAsync(string id, CancellationToken cancellationToken = default)
    {
        if (live.ContainsKey(id) || await history.GetAsync(id, cancellationToken) is not { } row) return false;
        if (row.Status == nameof(RunStatus.Completed)) throw new InvalidOperationException($"Run {id} has completed; start a new run to train further.");
        await ResumeStoredAsync(row, paused: false, cancellationToken);
        return true;
    }

    /// <summary>Trains a stored run here, from its checkpoint if it has one, with the settings it started with (a worker taking up its job).</summary>
    public Task<LiveRun> ResumeStoredAsync(RunRecordEntity row, bool paused, CancellationToken cancellationToken) =>
        StartAsync(row.Id, StoredSpec(row), resume: true, datasetId: row.DatasetId, paused: paused, cancellationToken: cancellationToken);

    /// <summary>The settings a run started with, as its row keeps them, pointed at its folder.</summary>
    private TrainingJobSpec StoredSpec(RunRecordEntity row) =>
        (JsonSerializer.Deserialize<TrainingJobSpec>(row.OptionsJson, EngineJson.Options)
            ?? throw new InvalidDataException($"Run {row.Id} has no stored settings to resume with.")) with { RunFolder = layout.Run(row.Id).Folder };

    /// <summary>The step a resumed run would continue from: its checkpoint's, or 0 without one.</summary>
    private long LastCheckpointStep(string id)
    {
        var folder = Checkpoint.Find(layout.Run(id).CheckpointFolder);
        return folder is null ? 0 : Checkpoint.ReadPosition(folder)?.Step ?? 0;
    }

    /// <summary>
    /// The app begins to stop: every live run trained here is told to stop at once (a training run
    /// checkpoints where it is, and skips the serving tuning it will do when it completes after the restart).
    /// Called as the host starts stopping, before the server drains its connections, so no run trains on meanwhile.
    /// </summary>
    public void BeginShutdown()
    {
        shuttingDown = true;
        // Runs a worker trains are the worker's to stop.
        foreach (var run in live.Values.Where(r => !r.Remote && !r.Cancellation.IsCancellationRequested))
        {
            logger.LogInformation("Stopping run {Run} for the app's shutdown; it resumes on the next start", run.Id);
            run.Control.Suspend();
            run.Cancellation.Cancel();
        }
    }

    /// <summary>
    /// The app is stopping: every live run is stopped (<see cref="BeginShutdown"/>) and recorded to resume on
    /// the next start; returns when all have ended or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        BeginShutdown();
        var running = live.Values.Where(r => !r.Remote).ToList();
        try
        {
            await Task.WhenAll(running.Select(r => r.Completion)).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            logger.LogError("The host's shutdown timeout came before every run had checkpointed: those still training resume from their previous checkpoint");
        }
        // A queued run never trained, so it has no summary to carry the mark: set it on every one stopped here.
        foreach (var run in running.Where(r => r.Status is not (RunStatus.Completed or RunStatus.Failed)))
            await history.SetResumeOnStartAsync(run.Id, true, CancellationToken.None);
    }

    public bool Pause(string id) => Apply(id, r => r.Control.Pause(), RunCommand.Pause);
    public bool Resume(string id) => Apply(id, r => r.Control.Resume(), RunCommand.Resume);

    public bool Stop(string id)
    {
        if (live.GetValueOrDefault(id) is { Remote: true, Status: RunStatus.Pending } queued)
        {
            // No worker may have it yet: the stored status tells the one that takes the job to drop it,
            // and every node's mirror ends now. A worker that has just taken it gets the command too.
            var stopped = new StatusChanged(id, 0, DateTimeOffset.UtcNow, RunStatus.Stopped, "Stopped while queued.");
            history.RecordStatusAsync(stopped).GetAwaiter().GetResult();
            dispatcher!.Send(id, RunCommand.Stop);
            dispatcher.PublishStoppedWhileQueued(stopped);
            return true;
        }
        return Apply(id, r => { r.Control.Resume(); r.Cancellation.Cancel(); }, RunCommand.Stop);
    }

    /// <summary>Deletes a finished run: its row and its folder. A live run must be stopped first.</summary>
    public async Task DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        if (live.ContainsKey(id)) throw new InvalidOperationException("Stop the run before deleting it.");
        var folder = layout.Run(id).Folder;
        await history.DeleteAsync(id, cancellationToken);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        RunsChanged?.Invoke();
    }

    /// <summary>What a run stored, in step order: batch, epoch and status events, then snapshots; from a step on.</summary>
    public IReadOnlyList<TrainingEvent> StoredEvents(string id, long sinceStep = 0)
    {
        if (!PathSegment.IsValid(id)) return [];
        var run = new RunFolder(layout.Run(id));
        if (!Directory.Exists(run.Paths.Folder)) return [];
        return run.ReadEvents().Concat(run.ReadEvents(snapshots: true)).Where(e => e.Step >= sinceStep)
            .OrderBy(e => e.Step).ThenBy(e => e is SnapshotTaken ? 1 : 0).ToList();
    }

    /// <summary>Where a run's files are; throws <see cref="InvalidPathSegmentException"/> for an id that is not one.</summary>
    public RunPaths Paths(string id) => layout.Run(id);

    private void Record(LiveRun run, TrainingEvent e)
    {
        try
        {
            switch (e)
            {
                case BatchEnded batch:
                    run.LastBatch = batch;
                    break;
                case StatusChanged status:
                    run.Status = status.Status;
                    history.RecordStatusAsync(status).GetAwaiter().GetResult();
                    RunsChanged?.Invoke();
                    break;
                case EpochEnded epoch:
                    history.AddEpochMetricAsync(epoch).GetAwaiter().GetResult();
                    RunsChanged?.Invoke();
                    break;
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not record {Event} of run {Run}", e.GetType().Name, run.Id);
        }
    }

    private bool Apply(string id, Action<LiveRun> action, RunCommand command)
    {
        if (!live.TryGetValue(id, out var run)) return false;
        if (run.Remote) dispatcher!.Send(id, command);
        else action(run);
        return true;
    }

    /// <summary>Stores the run and queues it for a worker; the live run returned mirrors it until a worker's events end it.</summary>
    private async Task<LiveRun> DispatchAsync(string runId, TrainingJobSpec spec, string? datasetId, bool paused, CancellationToken cancellationToken)
    {
        var mirror = NewMirror(runId, spec with { RunFolder = layout.Run(runId).Folder }, RunStatus.Pending);
        if (!live.TryAdd(runId, mirror)) throw new InvalidOperationException($"Run {runId} is already training.");
        try
        {
            await history.UpsertAsync(StoredRow(runId, spec, RunStatus.Pending, datasetId), cancellationToken);
            await dispatcher!.EnqueueAsync(runId, paused, cancellationToken);
        }
        catch
        {
            live.TryRemove(runId, out _);
            mirror.Dispose();
            throw;
        }
        RunsChanged?.Invoke();
        return mirror;
    }

    /// <summary>A run's history row as it starts (or is queued): the settings it is resumed with later.</summary>
    private static RunRecordEntity StoredRow(string runId, TrainingJobSpec spec, RunStatus status, string? datasetId) => new()
    {
        Id = runId,
        DataFolder = spec.DataFolder,
        Backbone = spec.Backbone.ToString().ToLowerInvariant(),
        Status = status.ToString(),
        CreatedUtc = DateTime.UtcNow,
        OptionsJson = JsonSerializer.Serialize(spec, EngineJson.Options),
        DatasetId = datasetId,
    };

    private static LiveRun NewMirror(string runId, TrainingJobSpec spec, RunStatus status)
    {
        var end = new TaskCompletionSource<TrainingJobResult?>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new LiveRun { Id = runId, Spec = spec, Remote = true, RemoteEnd = end, Completion = end.Task, Status = status };
    }

    /// <summary>
    /// An event a worker published: it reaches the pages watching the run here as if the run trained here.
    /// A run this node did not start (another node did, or this one restarted) is mirrored from its first event on.
    /// </summary>
    public async Task OnRemoteEventAsync(TrainingEvent e, CancellationToken cancellationToken = default)
    {
        if (!live.TryGetValue(e.RunId, out var run))
        {
            if (e is StatusChanged { Status: not (RunStatus.Pending or RunStatus.Running or RunStatus.Paused) }) return;
            if (!PathSegment.IsValid(e.RunId) || await history.GetAsync(e.RunId, cancellationToken) is not { } row) return;
            run = live.GetOrAdd(e.RunId, _ => NewMirror(row.Id, StoredSpec(row), RunStatus.Running));
            RunsChanged?.Invoke();
        }
        if (!run.Remote) return;
        switch (e)
        {
            case BatchEnded batch: run.LastBatch = batch; break;
            case StatusChanged status: run.Status = status.Status; break;
        }
        run.Events.Publish(e);
        if (e is StatusChanged or EpochEnded) RunsChanged?.Invoke();
    }

    /// <summary>
    /// On a web node of a cluster, the mirror of a stored run that a worker trains or will train (queued,
    /// training, paused, or stopped by its worker's shutdown and queued again), made now if this node has
    /// none yet: a viewer who asks before the run's first event here sees it live. Null otherwise.
    /// </summary>
    public LiveRun? MirrorStored(RunRecordEntity row)
    {
        if (live.TryGetValue(row.Id, out var known)) return known;
        if (dispatcher is null || !Enum.TryParse<RunStatus>(row.Status, out var status) || !PathSegment.IsValid(row.Id)) return null;
        if (status is not (RunStatus.Pending or RunStatus.Running or RunStatus.Paused) && !(status == RunStatus.Stopped && row.ResumeOnStart)) return null;
        var mirror = live.GetOrAdd(row.Id, _ => NewMirror(row.Id, StoredSpec(row), status == RunStatus.Stopped ? RunStatus.Pending : status));
        RunsChanged?.Invoke();
        return mirror;
    }

    /// <summary>The worker training a run has finished with it (or it was stopped before one took it): the mirror ends.</summary>
    public void OnRemoteEnded(string runId)
    {
        if (!live.TryGetValue(runId, out var run) || !run.Remote || !live.TryRemove(runId, out _)) return;
        run.RemoteEnd!.TrySetResult(null);
        RunsChanged?.Invoke();
        run.Dispose();
    }

    private static string Slug(string text)
    {
        var chars = text.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        var slug = string.Join('-', new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
        return slug.Length == 0 ? "run" : slug[..Math.Min(slug.Length, 40)];
    }

    public void Dispose()
    {
        BeginShutdown();
        var local = live.Values.Where(r => !r.Remote).ToList();
        Task.WaitAll(local.Select(r => r.Completion).ToArray(), TimeSpan.FromSeconds(30));
    }
}
