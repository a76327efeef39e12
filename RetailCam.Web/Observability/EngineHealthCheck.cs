using Microsoft.Extensions.Diagnostics.HealthChecks;
using RetailCam.Web.Services;

namespace RetailCam.Web.Observability;

/// <summary>Ready once the torch runtime has started on its device (<see cref="EngineStatusService"/>); not while it starts or after it failed to.</summary>
public sealed class EngineHealthCheck(EngineStatusService engine) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = engine.Status;
        return Task.FromResult(status switch
        {
            { IsCompletedSuccessfully: true } => HealthCheckResult.Healthy(
                $"{status.Result.Device}, {status.Result.IntraOpThreads} threads, libtorch {status.Result.LibTorchVersion}"),
            { IsFaulted: true } => HealthCheckResult.Unhealthy($"the engine failed to start: {status.Exception!.GetBaseException().Message}"),
            _ => HealthCheckResult.Unhealthy("the engine is starting"),
        });
    }
}
