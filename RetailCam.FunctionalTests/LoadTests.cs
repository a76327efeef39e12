using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
using RetailCam.Storage.Accounts;
using RetailCam.Tests.Support;
using RetailCam.Web.Services;

namespace RetailCam.FunctionalTests;

/// <summary>
/// An app of the load tests' own, its prediction limits raised far above what a few clients send, so
/// a request refused by a limit would be a fault and not the limit doing its job.
/// </summary>
public sealed class LoadTargetApp : IAsyncLifetime
{
    public PrivateWebApp App { get; private set; } = null!;
    public string ViewerToken { get; private set; } = "";

    public async Task InitializeAsync()
    {
        App = new PrivateWebApp(tinyModel: true,
            ("RetailCam:Limits:PredictRequestsPerSecond", "10000"), ("RetailCam:Limits:PredictBurst", "100000"), ("RetailCam:Limits:PredictQueue", "1000"));
        ViewerToken = await WebAppFixture.AddMemberAsync(App.Services, "load-viewer", TeamRoles.Viewer);
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

/// <summary>`retailcam load` against the real app on Kestrel: every request answered, figures in order, training measured when a run trains.</summary>
public class LoadTests(LoadTargetApp target) : IClassFixture<LoadTargetApp>
{
    private static readonly TimeSpan VerbTimeout = TimeSpan.FromMinutes(2);

    private Task<(int Exit, string Stdout, string Stderr)> LoadAsync(int clients, int seconds) =>
        ConsoleCapture.RunAsync(() => RetailCam.Cli.CliProgram.InvokeAsync(["load", "--url", target.App.Address.ToString(), "--token", target.ViewerToken,
            "--clients", clients.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seconds", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json"]), VerbTimeout);

    [Fact]
    public async Task Four_clients_for_three_seconds_get_every_request_answered_and_ordered_percentiles_with_no_training_figures()
    {
        var (exit, stdout, stderr) = await LoadAsync(clients: 4, seconds: 3);

        Assert.True(exit == 0, stderr);
        using var json = ToolProcess.LastJson(stdout);
        var report = json.RootElement;
        var requests = report.GetProperty("requests").GetInt32();
        Assert.True(requests > 0, stdout);
        Assert.True(report.GetProperty("errors").GetInt32() == 0, stdout);
        Assert.Equal(requests, report.GetProperty("succeeded").GetInt32());
        Assert.Empty(report.GetProperty("errorsByKind").EnumerateObject());
        Assert.True(report.GetProperty("requestsPerSecond").GetDouble() > 0);
        var latency = report.GetProperty("latencyMs");
        var (p50, p95, p99, max) = (latency.GetProperty("p50").GetDouble(), latency.GetProperty("p95").GetDouble(),
            latency.GetProperty("p99").GetDouble(), latency.GetProperty("max").GetDouble());
        Assert.True(0 < p50 && p50 <= p95 && p95 <= p99 && p99 <= max, latency.ToString());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("trainingImagesPerSecond").ValueKind);
        Assert.Equal(JsonValueKind.Null, report.GetProperty("trainingRun").ValueKind);
        Assert.Equal(JsonValueKind.Null, report.GetProperty("trainingStatusAfter").ValueKind);
    }

    [Fact]
    public async Task A_run_training_during_the_load_is_found_and_its_pace_reported()
    {
        var runs = target.App.Services.GetRequiredService<TrainingRunService>();
        var runId = $"{TrainingRunService.NewRunId("beside-load")}-{Guid.NewGuid():N}"[..^24];
        var run = await runs.StartAsync(runId, LongTinyRun());
        (int Exit, string Stdout, string Stderr) load;
        try
        {
            // The baseline is the run's pace before the load: wait for its first step.
            using (var firstStep = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
                while (run.LastBatch is null && !run.Completion.IsCompleted) await Task.Delay(100, firstStep.Token);
            Assert.False(run.Completion.IsCompleted, $"run {runId} ended before the load started");
            load = await LoadAsync(clients: 2, seconds: 3);
        }
        finally
        {
            // Stopped at once: the sooner, the likelier before its first epoch ends (see LongTinyRun).
            runs.Stop(runId);
            await run.Completion.WaitAsync(TimeSpan.FromMinutes(5));
        }

        Assert.True(load.Exit == 0, load.Stderr);
        using var json = ToolProcess.LastJson(load.Stdout);
        var report = json.RootElement;
        Assert.Equal(runId, report.GetProperty("trainingRun").GetString());
        Assert.True(report.GetProperty("trainingSteps").GetInt64() >= 0);
        Assert.True(report.GetProperty("trainingImagesPerSecond").GetDouble() >= 0);
        Assert.True(report.GetProperty("trainingImagesPerSecondBefore").GetDouble() > 0, load.Stdout);
        Assert.Equal("running", report.GetProperty("trainingStatusAfter").GetString());
    }

    /// <summary>
    /// A real ResNet18 run on 32² shapes, stopped after the load: its epochs are long enough that it is
    /// usually stopped before the first one ends, so no model is saved and no serving tuning follows
    /// the stop (on a busy machine that tuning takes minutes).
    /// </summary>
    private TrainingJobSpec LongTinyRun()
    {
        var folder = Path.Combine(target.App.DataRoot, "datasets", "shapes");
        if (!Directory.Exists(folder)) new SyntheticShapes(count: 1200, size: 32, seed: 17).WritePngTree(folder, "shape-");
        return new TrainingJobSpec
        {
            DataFolder = folder,
            RunFolder = "",
            Backbone = BackboneKind.ResNet18,
            LoaderWorkers = 1,
            Settings = TrainingSettings.Exactly(new TrainingOptions
            {
                Epochs = 200,
                BatchSize = 8,
                ImageSize = 32,
                SnapshotEverySteps = 0,
                ProbeCount = 0,
                WarmupSteps = 2,
                HeadOnlySteps = 2,
                CheckpointEverySteps = 0,
            }),
        };
    }
}
