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
            var serving = model is null ? "no model yet: the first training run publishes one" : $"serving {model.Id}";
            // Served from a fallback is still served, but someone should look at the broken one.
            var broken = predictions.Models.Where(m => m.Broken is not null).Select(m => $"{m.Id} is broken: {m.Broken}").ToList();
            return broken.Count == 0 ? HealthCheckResult.Healthy(serving) : HealthCheckResult.Degraded($"{serving}; {string.Join("; ", broken)}");
        }
        catch (NoModelException ex)
        {
            return HealthCheckResult.Degraded(ex.Message);
        }
    }
}
