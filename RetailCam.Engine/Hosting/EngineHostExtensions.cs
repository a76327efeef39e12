using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Native;
using RetailCam.Engine.Training;

namespace RetailCam.Engine.Hosting;

public static class EngineHostExtensions
{
    /// <summary>
    /// Registers everything the engine needs, for every entry point (web app, CLI, worker): each options
    /// section bound and validated at start with DataAnnotations, the data-root layout, the safe decoder,
    /// the model registry, the predictor, the ONNX export cache and the torch environment on the configured device, initialised once and logged.
    /// </summary>
    public static IHostApplicationBuilder AddRetailCamEngine(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        AddValidated<EngineOptions>(services, EngineOptions.SectionName);
        AddValidated<ImagingOptions>(services, ImagingOptions.SectionName);
        AddValidated<PredictorOptions>(services, PredictorOptions.SectionName);
        AddValidated<TrainingSettings>(services, TrainingSettings.SectionName);

        services.AddSingleton(sp => new DataRootLayout(sp.GetRequiredService<IOptions<EngineOptions>>().Value.ResolvedDataRoot));
        services.AddSingleton(sp => new ImageFileDecoder(sp.GetRequiredService<IOptions<ImagingOptions>>().Value));
        services.AddSingleton(sp => new ModelRegistry(sp.GetRequiredService<DataRootLayout>()));
        // One predictor serves every model of the data root by id, on the configured device.
        services.AddSingleton(sp => new Predictor(sp.GetRequiredService<IOptions<PredictorOptions>>().Value,
            sp.GetRequiredService<TorchEnvironment>().Device, sp.GetRequiredService<ModelRegistry>()));
        services.AddSingleton(sp =>
        {
            // An export computes with libtorch: the torch environment (threads, native library) is set up before the first one.
            sp.GetRequiredService<TorchEnvironment>();
            return new OnnxExportCache(sp.GetRequiredService<DataRootLayout>(), sp.GetRequiredService<ModelRegistry>());
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            var environment = TorchRuntime.Initialize(options.Device, options.Threads);
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("RetailCam.Engine").LogInformation(
                "Torch: {Environment}; native library: {NativeLoad}; data root {DataRoot}", environment, environment.NativeLoad, options.ResolvedDataRoot);
            return environment;
        });
        return builder;
    }

    private static void AddValidated<TOptions>(IServiceCollection services, string section) where TOptions : class =>
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
}
