using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RetailCam.Engine.Telemetry;
using RetailCam.Storage;
using RetailCam.Storage.Accounts;
using RetailCam.Web.Security;

namespace RetailCam.Web.Observability;

/// <summary>
/// Metrics, traces and health for operators: the engine's meter (<see cref="EngineTelemetry"/>) and ASP.NET
/// Core's own in the Prometheus text format at /metrics (for trainers, admins and a configured scrape token),
/// traces of requests with the engine's spans exported by OTLP only where an endpoint is configured, and
/// liveness and readiness under /healthz/.
/// </summary>
public static class ObservabilityExtensions
{
    public const string MetricsPath = "/metrics";
    public const string HealthPath = "/healthz";
    public const string MetricsPolicy = "metrics";

    /// <summary>Checks with this tag decide readiness; liveness runs none.</summary>
    private const string ReadyTag = "ready";

    /// <summary>The standard OpenTelemetry variables: tracing is on only when one of them names a collector.</summary>
    private static readonly string[] OtlpEndpointKeys = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];

    public static IHostApplicationBuilder AddRetailCamObservability(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        var version = typeof(ObservabilityExtensions).Assembly.GetName().Version?.ToString();
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("retailcam", serviceVersion: version))
            .WithMetrics(metrics => metrics
                .AddMeter(EngineTelemetry.Name)
                // http.server.request.duration and Kestrel's connection metrics, from ASP.NET Core's own meters.
                .AddAspNetCoreInstrumentation()
                .AddPrometheusExporter());
        if (OtlpEndpointKeys.Any(key => !string.IsNullOrWhiteSpace(builder.Configuration[key])))
            telemetry.WithTracing(tracing => tracing
                .AddSource(EngineTelemetry.Name)
                // Scrapes and probes every few seconds would bury the requests worth reading.
                .AddAspNetCoreInstrumentation(aspNet => aspNet.Filter = context =>
                    !context.Request.Path.StartsWithSegments(MetricsPath) && !context.Request.Path.StartsWithSegments(HealthPath))
                .AddOtlpExporter());
        services.AddTransient<IStartupFilter, HttpErrorCounting>();
        services.AddHostedService<RunQueueGauge>();

        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ScrapeTokenAuthenticationHandler>(ScrapeTokenAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder().AddPolicy(MetricsPolicy, policy => policy
            .AddAuthenticationSchemes(SecurityExtensions.CookieOrToken, ScrapeTokenAuthenticationHandler.SchemeName)
            .RequireAuthenticatedUser()
            .RequireRole([.. TeamRoles.AtLeast(TeamRoles.Trainer), ScrapeTokenAuthenticationHandler.ScraperRole]));

        services.AddHealthChecks()
            // A query, not just a connection: SQLite opens any path, the schema proves it is our database.
            .AddDbContextCheck<RetailCamDbContext>("database", tags: [ReadyTag], customTestQuery: async (db, cancellationToken) =>
            {
                await db.Runs.AnyAsync(cancellationToken);
                return true;
            })
            .AddCheck<EngineHealthCheck>("engine", tags: [ReadyTag])
            .AddCheck<ModelHealthCheck>("model", tags: [ReadyTag]);
        return builder;
    }

    /// <summary>/metrics, /healthz/live and /healthz/ready; none of them is an API route of the OpenAPI document.</summary>
    public static IEndpointRouteBuilder MapRetailCamObservability(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPrometheusScrapingEndpoint(MetricsPath)
            .RequireAuthorization(MetricsPolicy)
            .DisableHttpMetrics();
        endpoints.MapHealthChecks($"{HealthPath}/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthReportJson.WriteAsync })
            .AllowAnonymous();
        endpoints.MapHealthChecks($"{HealthPath}/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = HealthReportJson.WriteAsync,
            // Degraded (a model that will not load) stays in rotation: pages, training and the API still work.
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        }).AllowAnonymous();
        return endpoints;
    }
}
