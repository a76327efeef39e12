using RetailCam.Engine.Telemetry;

namespace RetailCam.Web.Observability;

/// <summary>
/// Counts answers of 500 and above on <see cref="EngineTelemetry.Errors"/> (kind <c>http</c>), as the
/// first middleware of the pipeline, so it sees what the exception handler made of a failure, and an
/// exception that escapes it. Health answers are left out: their 503 is the answer, not a failure.
/// </summary>
internal sealed class HttpErrorCounting : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            try
            {
                await nextMiddleware(context);
            }
            catch
            {
                if (!IsHealth(context.Request)) EngineTelemetry.RecordError(EngineTelemetry.ErrorKinds.Http);
                throw;
            }
            if (context.Response.StatusCode >= StatusCodes.Status500InternalServerError && !IsHealth(context.Request))
                EngineTelemetry.RecordError(EngineTelemetry.ErrorKinds.Http);
        });
        next(app);
    };

    private static bool IsHealth(HttpRequest request) => request.Path.StartsWithSegments(ObservabilityExtensions.HealthPath);
}
