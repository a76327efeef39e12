using RetailCam.Web.Services;

namespace RetailCam.Web.Api;

public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", async (EngineStatusService engine, HttpContext context, CancellationToken cancellationToken) =>
        {
            var status = engine.Status;
            if (!status.IsCompleted)
                return Results.Json(new { status = "starting" }, statusCode: StatusCodes.Status503ServiceUnavailable);
            if (status.IsFaulted)
                return Results.Json(new { status = "failed" }, statusCode: StatusCodes.Status503ServiceUnavailable);
            // Strangers learn only that it is up; the device, versions and model are for the team.
            if (context.User.Identity?.IsAuthenticated != true) return Results.Json(new { status = "ok" });
            var engineStatus = await status.WaitAsync(cancellationToken);
            return Results.Json(new { status = "ok", engineStatus.Device, engineStatus.IntraOpThreads, engineStatus.LibTorchVersion, model = engineStatus.ModelDescription });
        })
        .AllowAnonymous()
        .WithName("Health")
        .WithSummary("Liveness; signed in, also the engine's device and model.");
        return endpoints;
    }
}
