using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Native;

namespace RetailCam.Cli.Commands;

/// <summary>
/// The host a verb runs the engine in: the same <see cref="EngineHostExtensions.AddRetailCamEngine"/> as the
/// web app, reading appsettings.json beside the tool and environment variables (<c>RetailCam__DataRoot</c>),
/// with the verb's flags laid over them. Options are validated before the verb starts, as at the web's start.
/// </summary>
internal sealed class CliHost
{
    public Option<string?> Device { get; } = new("--device")
    {
        Description = "auto, cpu or cuda (default: RetailCam:Device from appsettings.json or the environment, else auto).",
    };

    public Option<int?> Threads { get; } = new("--threads") { Description = "libtorch intra-op threads (0: one per core; default: RetailCam:Threads)." };

    public CliHost() => Device.AcceptOnlyFromAmong("auto", "cpu", "cuda");

    /// <summary>Also registers the app's database (accounts, history) under the data root, as the web app does.</summary>
    public bool WithStorage { get; init; }

    /// <summary>Adds --device and --threads to a verb that computes.</summary>
    public void AddOptionsTo(Command command)
    {
        command.Options.Add(Device);
        command.Options.Add(Threads);
    }

    /// <summary>Builds and validates the host; <paramref name="settings"/> are configuration keys a verb's own flags set (null: not given).</summary>
    public IHost Build(ParseResult parse, params (string Key, string? Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        // stdout belongs to the verb's output (its last line is the --json object): logs go to stderr, warnings and worse only.
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        var overrides = new Dictionary<string, string?>();
        if (parse.GetValue(Device) is { } device) overrides[$"{EngineOptions.SectionName}:Device"] = device;
        if (parse.GetValue(Threads) is { } threads) overrides[$"{EngineOptions.SectionName}:Threads"] = threads.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in settings)
            if (value is not null) overrides[key] = value;
        builder.Configuration.AddInMemoryCollection(overrides);

        builder.AddRetailCamEngine();
        if (WithStorage) RetailCam.Storage.StorageServiceCollectionExtensions.AddRetailCamStorage(builder);
        var host = builder.Build();
        try
        {
            host.Services.GetRequiredService<IStartupValidator>().Validate();
        }
        catch (OptionsValidationException ex)
        {
            host.Dispose();
            throw new ArgumentException($"configuration: {string.Join("; ", ex.Failures)}", ex);
        }
        return host;
    }
}

/// <summary>What verbs take from the host they built, each asked for in one place.</summary>
internal static class EngineHostServices
{
    /// <summary>The folder of ResNet18.onnx and its preprocessing: RetailCam:PretrainedFolder, else beside the tool.</summary>
    public static string PretrainedFolder(this IHost engine) =>
        engine.Services.GetRequiredService<IOptions<EngineOptions>>().Value.ResolvedPretrainedFolder;

    /// <summary>A predictor of one model folder with the configured inference settings, on the configured device.</summary>
    public static Predictor PredictorFor(this IHost engine, string modelFolder) =>
        Predictor.ForFolder(modelFolder,
            engine.Services.GetRequiredService<IOptions<PredictorOptions>>().Value,
            engine.Services.GetRequiredService<TorchEnvironment>().Device);
}
