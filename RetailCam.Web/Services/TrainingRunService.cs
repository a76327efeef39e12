using RetailCam.Engine;
using System.Collections.Concurrent;
using System.Text.Json;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Native;
using RetailCam.Engine.Training;
using RetailCam.Engine.Models;
using RetailCam.Storage;

namespace RetailCam.Web.Services;

/// <summary>A run that this process is training now.</summary>
public sealed class LiveRun : IDisposable
{
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

/// <summary>
/// Background training for the web app: starts runs on their own long-running threads, lets any
/// page pause, resume or stop them, keeps their history in SQLite, and replays what a run stored
/// so a viewer who arrives late sees everything before the live tail.
/// </summary>
public sealed class TrainingRunService(DataRootLayout layout, TorchEnvironment torch, RunHistory history, Microsoft.Extensions.Options.IOptions<RunQueueOptions> queue,
    ILogger<TrainingRunService> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, LiveRun> live = new();

    /// <summary>At most RetailCam:Runs:MaxConcurrent runs train at once; the others wait here, in order.</summary>
    public RunSlots Slots { get; } = new(queue.Value.MaxConcurrent);

    /// <summary>Every event of every live run, for the SignalR hub and other process-wide listeners.</summary>
    public event Action<TrainingEvent>? EventPublished;

    /// <summary>A run started, ended or changed state: lists should refresh.</summary>
    public event Action? RunsChanged;

    public LiveRun? Live(string id) => live.GetValueOrDefault(id);

    public IReadOnlyCollection<LiveRun> LiveRuns => live.Values.ToList();

    public Task<IReadOnlyList<RunRecordEntity>> ListAsync(CancellationToken cancellationToken = default) => history.ListAsync(cancellationToken);

    public static string NewRunId(string? label) =>
        $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Slug(label ?? "run")}";

    /// <summary>Starts (or, with resume, continues) a run; returns at once with the live run.</summary>
    /// <param name="datasetId">The app's dataset the run trains on, recorded with the run (null for a folder picked by path).</param>
    public async Task<LiveRun> StartAsync(string runId, TrainingJobSpec spec, bool resume = false, string? datasetId = null, CancellationToken cancellationToken = default)
    {
        var run = new LiveRun { Id = runId, Spec = spec with { RunFolder = layout.Run(runId).Folder } };
        if (spec.Settings.Problems() is { Count: > 0 } problems)
            throw new ArgumentException("Invalid training settings: " + string.Join("; ", problems));
        if (!live.TryAdd(runId, run)) throw new InvalidOperationException($"Run {runId} is already training.");
        RunRecordEntity Row(RunStatus status) => new()
        {
            Id = runId,
            DataFolder = spec.DataFolder,
            Backbone = spec.Backbone.ToString().ToLowerInvariant(),
            Status = status.ToString(),
            CreatedUtc = DateTime.UtcNow,
            OptionsJson = JsonSerializer.Serialize(spec, EngineJson.Options),
            DatasetId = datasetId,
        };
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

    public bool Pause(string id) => Apply(id, r => r.Control.Pause());
    public bool Resume(string id) => Apply(id, r => r.Control.Resume());
    public bool Stop(string id) => Apply(id, r => { r.Control.Resume(); r.Cancellation.Cancel(); });

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

    private bool Apply(string id, Action<LiveRun> action)
    {
        if (!live.TryGetValue(id, out var run)) return false;
        action(run);
        return true;
    }

    private static string Slug(string text)
    {
        var chars = text.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        var slug = string.Join('-', new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
        return slug.Length == 0 ? "run" : slug[..Math.Min(slug.Length, 40)];
    }

    public void Dispose()
    {
        foreach (var run in live.Values) run.Cancellation.Cancel();
        Task.WaitAll(live.Values.Select(r => r.Completion).ToArray(), TimeSpan.FromSeconds(30));
    }
}
