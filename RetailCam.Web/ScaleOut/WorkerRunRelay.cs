using RetailCam.Web.Services;

namespace RetailCam.Web.ScaleOut;

/// <summary>
/// A worker's side of its runs: every event goes to the web nodes' pages (Redis) — the hub's clients get
/// them through the SignalR backplane from <see cref="Hubs.TrainingHubForwarder"/> — and commands a web
/// node sends for a run trained here are carried out.
/// </summary>
public sealed class WorkerRunRelay(TrainingRunService runs, RunChannels channels, ILogger<WorkerRunRelay> logger) : IHostedService
{
    private IAsyncDisposable? commands;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        runs.EventPublished += channels.PublishEvent;
        runs.RunEnded += channels.PublishEnded;
        commands = await channels.SubscribeCommandsAsync(Carry);
    }

    private void Carry(string runId, RunCommand command)
    {
        var known = command switch
        {
            RunCommand.Pause => runs.Pause(runId),
            RunCommand.Resume => runs.Resume(runId),
            _ => runs.Stop(runId),
        };
        if (known) logger.LogInformation("Run {Run}: {Command} asked by a web node", runId, command);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (commands is not null) await commands.DisposeAsync();
        // The last events of runs stopped by the shutdown still go out: unsubscribed only after the runs have ended.
        await runs.ShutdownAsync(cancellationToken);
        runs.EventPublished -= channels.PublishEvent;
        runs.RunEnded -= channels.PublishEnded;
    }
}
