using Microsoft.Extensions.Diagnostics.HealthChecks;
using RetailCam.Web.Services;

namespace RetailCam.Web.Observability;

/// <summary>
/// Readiness of serving: the default model is loaded (loading it now if it was not: the first probe also
/// warms the predictor up), or no model exists yet, which is a new data root's normal state. A model that
/// exists but will not load leaves the app degraded, with the reason; everything but prediction still works.
/// What makes a model broken is the registry's to say: this is the one class that asks it.
/// </summary>
public sealed class ModelHealthCheck(PredictionService predictions) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var model = await predictions.EnsureModelAsync(cancellationToken: cancellationToken);
            return HealthCheckResult.Healthy(model is null ? "no model yet: the first training run publishes one" : $"serving {model.Id}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Degraded($"the model cannot be served: {ex.Message}");
        }
    }
}
