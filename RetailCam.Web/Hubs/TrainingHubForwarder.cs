using Microsoft.AspNetCore.SignalR;
using RetailCam.Engine.Training;
using RetailCam.Web.Services;

namespace RetailCam.Web.Hubs;

/// <summary>
/// Forwards every event of every live run to that run's hub group. The send is started and not
/// awaited: the event stream calls us on its own pump, and a slow or broken connection must hold up
/// neither the pump nor training. Sends to a connection are still written in call order, so a
/// client sees steps in order; failures are logged, never thrown.
/// </summary>
public sealed class TrainingHubForwarder(TrainingRunService runs, IHubContext<TrainingHub, ITrainingClient> hub, ILogger<TrainingHubForwarder> logger)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        runs.EventPublished += Forward;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        runs.EventPublished -= Forward;
        return Task.CompletedTask;
    }

    private void Forward(TrainingEvent trainingEvent)
    {
        try
        {
            var group = hub.Clients.Group(TrainingHub.GroupOf(trainingEvent.RunId));
            var sending = trainingEvent switch
            {
                BatchEnded e => group.Progress(TrainingMessages.From(e)),
                EpochEnded e => group.Epoch(TrainingMessages.From(e)),
                StatusChanged e => group.Status(TrainingMessages.From(e)),
                SnapshotTaken e => group.Snapshot(TrainingMessages.From(e)),
                _ => Task.CompletedTask,
            };
            if (!sending.IsCompletedSuccessfully)
                _ = sending.ContinueWith(t => LogFailure(t.Exception!, trainingEvent), CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (Exception ex)
        {
            LogFailure(ex, trainingEvent);
        }
    }

    private void LogFailure(Exception ex, TrainingEvent trainingEvent) =>
        logger.LogWarning(ex, "Could not send {Event} of run {Run} at step {Step} to hub clients", trainingEvent.GetType().Name, trainingEvent.RunId, trainingEvent.Step);
}
