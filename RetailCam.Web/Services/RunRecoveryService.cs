using Microsoft.Extensions.Options;
using RetailCam.Engine.Inference;

namespace RetailCam.Web.Services;

/// <summary>
/// What a previous process left behind is taken up before the app serves: leftovers of model saves that
/// crashed are removed, and runs it left unfinished resume (or are marked Interrupted). On the app's
/// shutdown, live runs checkpoint and stop, to resume on the next start.
/// </summary>
/// <remarks>Runs are told to stop as the host begins stopping (<see cref="StoppingAsync"/>), as the app's stop, not a user's.</remarks>
public sealed class RunRecoveryService(TrainingRunService runs, ModelRegistry models, IOptions<RunQueueOptions> options, IOptions<QuickStartOptions> quickStart,
    ILogger<RunRecoveryService> logger) : IHostedLifecycleService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (runs.DispatchesRuns)
        {
            // A cluster's web node: the job engine hands a dead worker's runs to another worker, and other
            // processes may be saving models into the shared data root right now, so nothing here is a leftover.
            logger.LogInformation("Runs are trained by workers: their recovery is the job engine's");
            return;
        }
        foreach (var leftover in models.CleanLeftovers())
            logger.LogWarning("Removed {Leftover}: left by a model save that did not finish", leftover);
        // The quick start takes up its own run (it also serves the model and marks the demo done).
        var skip = quickStart.Value.Enabled ? QuickStartService.RunId : null;
        var recovered = await runs.RecoverAsync(options.Value.ResumeAfterRestart, except: skip, cancellationToken);
        if (recovered.Count > 0)
            logger.LogInformation("{Count} unfinished runs taken up: {Runs}", recovered.Count, string.Join(", ", recovered));
        runs.FinishServingTuning(await runs.ListAsync(cancellationToken));
    }

    public Task StopAsync(CancellationToken cancellationToken) => runs.ShutdownAsync(cancellationToken);

    /// <summary>
    /// Before any hosted service stops: the server's stop waits for open connections (a viewer's WebSocket)
    /// to drain, and a run left training meanwhile could even finish before it was told to stop.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        runs.BeginShutdown();
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
