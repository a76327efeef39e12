using Microsoft.Extensions.Options;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Native;

namespace RetailCam.Web.Services;

/// <summary>What the engine runs on and which model it serves, for the home page and /healthz.</summary>
public sealed record EngineStatus(
    string Device,
    int IntraOpThreads,
    string LibTorchVersion,
    string NativeLoad,
    string DataRoot,
    string ModelDescription,
    string? ModelError);

/// <summary>
/// Starts the torch runtime in the background at application start, so the first page is served
/// at once and shows the engine's state as soon as it is known.
/// </summary>
public sealed class EngineStatusService(IServiceProvider services, IOptions<EngineOptions> options, ILogger<EngineStatusService> logger) : BackgroundService
{
    private readonly TaskCompletionSource<EngineStatus> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<EngineStatus> Status => ready.Task;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        try
        {
            var environment = services.GetRequiredService<TorchEnvironment>();
            var (description, error) = DescribeModel(options.Value);
            ready.TrySetResult(new EngineStatus(environment.DeviceName, environment.IntraOpThreads, environment.LibTorchVersion,
                environment.NativeLoad.ToString(), options.Value.ResolvedDataRoot, description, error));
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "The engine failed to start");
            ready.TrySetException(ex);
        }
    }, stoppingToken);

    private static (string Description, string? Error) DescribeModel(EngineOptions options)
    {
        var onnx = Path.Combine(options.ResolvedPretrainedFolder, "ResNet18.onnx");
        return File.Exists(onnx)
            ? ($"ResNet18, ImageNet weights ({new FileInfo(onnx).Length / 1_000_000.0:F0} MB ONNX from the NuGet package)", null)
            : ("ResNet18, ImageNet weights", $"Pretrained weights not found at {onnx}");
    }
}
