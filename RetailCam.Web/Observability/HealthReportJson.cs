using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RetailCam.Web.Observability;

/// <summary>
/// The answer of /healthz/live and /healthz/ready: a stranger (a load balancer) learns only the status;
/// a signed-in member also each check's status and what it found, as /healthz tells the team more.
/// </summary>
public static class HealthReportJson
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var status = Name(report.Status);
        if (context.User.Identity?.IsAuthenticated != true) return Results.Json(new { status }).ExecuteAsync(context);
        return Results.Json(new
        {
            status,
            checks = report.Entries.Select(entry => new { name = entry.Key, status = Name(entry.Value.Status), description = entry.Value.Description }),
        }).ExecuteAsync(context);
    }

    private static string Name(HealthStatus status) => status.ToString().ToLowerInvariant();
}
