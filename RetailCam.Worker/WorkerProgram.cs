using Microsoft.Extensions.Hosting;
using RetailCam.Engine.Hosting;
using RetailCam.Storage;
using RetailCam.Web.Hubs;
using RetailCam.Web.ScaleOut;
using RetailCam.Web.Services;

namespace RetailCam.Worker;

/// <summary>
/// `RetailCam.Worker`: reads the same appsettings.json and environment as the web app (the cluster's
/// data root, database and Redis) and executes the jobs of its queues (RetailCam:Jobs:Queues) until stopped.
/// </summary>
public static class WorkerProgram
{
    public static async Task<int> Main(string[] args)
    {
        // The settings beside the program, wherever it is started from.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.AddRetailCamEngine();
        builder.AddRetailCamStorage();
        builder.AddRetailCamRunServices();
        try
        {
            builder.AddRetailCamScaleOut(ClusterRole.Worker);
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
        // A run's events reach the hub's clients on every web node through the SignalR backplane.
        builder.Services.AddTrainingHub();

        using var host = builder.Build();
        await StorageInitializer.InitializeAsync(host.Services);
        await host.RunAsync();
        return 0;
    }
}
