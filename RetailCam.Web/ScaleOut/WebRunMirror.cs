using RetailCam.Web.Services;

namespace RetailCam.Web.ScaleOut;

/// <summary>A web node's side of the runs workers train: their events feed the node's mirrors of them, which pages watch.</summary>
public sealed class WebRunMirror(TrainingRunService runs, RunChannels channels, ILogger<WebRunMirror> logger) : IHostedService
{
    private IAsyncDisposable? events;

    public async Task StartAsync(CancellationToken cancellationToken) =>
        events = await channels.SubscribeEventsAsync(MirrorAsync, runs.OnRemoteEnded);

    private async Task MirrorAsync(Engine.Training.TrainingEvent e)
    {
        try
        {
            await runs.OnRemoteEventAsync(e);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not mirror {Event} of run {Run}", e.GetType().Name, e.RunId);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (events is not null) await events.DisposeAsync();
    }
}
