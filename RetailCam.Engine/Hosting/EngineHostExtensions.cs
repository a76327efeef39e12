using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Native;

namespace RetailCam.Engine.Hosting;

public static class EngineHostExtensions
{
    /// <summary>
    /// Registers the engine for any host (the web app and the CLI share it): validated options and
    /// the torch environment, initialised once and logged.
    /// </summary>
    public static IHostApplicationBuilder AddRetailCamEngine(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<EngineOptions>()
            .BindConfiguration(EngineOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => Enum.IsDefined(o.Device), "RetailCam:Device must be auto, cpu or cuda.")
            .ValidateOnStart();

        builder.Services.AddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<EngineOptions>>().Value;
            var environment = TorchRuntime.Initialize(options.Device, options.Threads);
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("RetailCam.Engine");
            logger.LogInformation("Torch: {Environment}; native library: {NativeLoad}; data root {DataRoot}",
                environment, environment.NativeLoad, options.ResolvedDataRoot);
            return environment;
        });
        return builder;
    }
}
