using Microsoft.Extensions.Options;
using MudBlazor.Services;
using RetailCam.Engine.Imaging;
using RetailCam.Web.Hubs;

namespace RetailCam.Web.Services;

public static class WebHostExtensions
{
    /// <summary>The dashboard's own services, on top of <c>AddRetailCamEngine</c> and <c>AddRetailCamStorage</c>.</summary>
    public static IHostApplicationBuilder AddRetailCamWeb(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices();
        builder.Services.AddOpenApi();
        builder.Services.AddProblemDetails();

        builder.Services.AddOptions<QuickStartOptions>().BindConfiguration(QuickStartOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.AddRetailCamRunServices();

        builder.Services.AddSingleton<EngineStatusService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<EngineStatusService>());
        builder.Services.AddSingleton<BoxEvaluationService>();
        builder.Services.AddSingleton<QuickStartService>();
        builder.Services.AddTrainingHub();
        builder.Services.AddHostedService(services => services.GetRequiredService<QuickStartService>());
        builder.Services.AddHostedService<RunRecoveryService>();

        // A photo of the configured maximum size must get through Kestrel's own limit, so that an
        // oversized one is refused by our check with a clear message rather than a reset connection.
        builder.Services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>()
            .Configure<IOptions<ImagingOptions>>((kestrel, imaging) => kestrel.Limits.MaxRequestBodySize = imaging.Value.MaxBytes * 8 + 1_000_000);
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(form => form.MultipartBodyLengthLimit = long.MaxValue);
        return builder;
    }

    /// <summary>
    /// What trains runs, categorises folders and serves predictions: the web app's, and a worker's, which
    /// executes the same runs and chunks as jobs.
    /// </summary>
    public static IHostApplicationBuilder AddRetailCamRunServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RunQueueOptions>().BindConfiguration(RunQueueOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<PredictionService>();
        builder.Services.AddSingleton<CatalogueJobs>();
        builder.Services.AddSingleton<TrainingRunService>();
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<RunQueueOptions>>((host, runs) =>
            host.ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(host.ShutdownTimeout.TotalSeconds, runs.Value.ShutdownSeconds)));
        return builder;
    }
}
