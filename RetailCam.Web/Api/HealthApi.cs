using RetailCam.Web.Services;

namespace RetailCam.Web.Api;

public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", async (EngineStatusService engine, CancellationToken cancellationToken) =>
        {
            var status = engine.Status;
            if (!status.IsCompleted)
                return Results.Json(new { status = "starting" }, statusCode: StatusCodes.Status503ServiceUnavailable);
            if (status.IsFaulted)
                return Results.Json(new { status = "failed", error = status.Exception!.GetBaseException().Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
            var engineStatus = await status.WaitAsync(cancellationToken);
            return Results.Json(new { status = "ok", engineStatus.Device, engineStatus.IntraOpThreads, engineStatus.LibTorchVersion, model = engineStatus.ModelDescription });
        })
        .WithName("Health")
        .WithSummary("Liveness and the engine's device and model.");
        return endpoints;
    }
}
