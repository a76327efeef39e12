using RetailCam.Engine.Telemetry;
using RetailCam.Web.Services;

namespace RetailCam.Web.Observability;

/// <summary>Shows this app's runs waiting for a training slot on the engine's queued-runs gauge while the app runs.</summary>
internal sealed class RunQueueGauge(TrainingRunService runs) : IHostedService
{
    private IDisposable? tracking;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        tracking = EngineTelemetry.TrackRunQueue(() => runs.Slots.Waiting.Count);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        tracking?.Dispose();
        return Task.CompletedTask;
    }
}
