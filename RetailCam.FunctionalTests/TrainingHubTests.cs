using RetailCam.Storage.Accounts;
using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
using RetailCam.Tests.Support;
using RetailCam.Web.Hubs;
using RetailCam.Web.Services;
using SixLabors.ImageSharp;

namespace RetailCam.FunctionalTests;

/// <summary>
/// The training hub against real Kestrel and real (tiny) ResNet18 runs started through the app's own
/// training service: the live tail in order, the history for a late joiner, the snapshot PNGs its
/// messages link to, and `retailcam watch` following a run to its end.
/// </summary>
[Collection(WebCollection.Name)]
public class TrainingHubTests(WebAppFixture app)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly Lock datasetGate = new();
    private static readonly ConditionalWeakTable<WebAppFixture, Task<(string RunId, TrainingJobResult Result)>> finishedRuns = new();

    private TrainingRunService Runs => app.Services.GetRequiredService<TrainingRunService>();

    [Fact]
    public async Task A_joined_client_receives_progress_in_step_order_and_snapshots_whose_urls_are_pngs()
    {
        var runId = NewRunId("hub-live");
        var progress = new ConcurrentQueue<ProgressMessage>();
        var snapshots = new ConcurrentQueue<SnapshotMessage>();
        var statuses = new ConcurrentQueue<StatusMessage>();
        var ended = new TaskCompletionSource<StatusMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var hub = Connect();
        hub.On<ProgressMessage>("Progress", m => progress.Enqueue(m));
        hub.On<SnapshotMessage>("Snapshot", m => snapshots.Enqueue(m));
        hub.On<StatusMessage>("Status", m =>
        {
            statuses.Enqueue(m);
            if (m.Status is "Completed" or "Stopped" or "Failed") ended.TrySetResult(m);
        });
        await hub.StartAsync();
        await hub.InvokeAsync("JoinRun", runId);

        var run = await StartRunAsync(runId);
        var end = await ended.Task.WaitAsync(RunTimeout);
        var result = await run.Completion.WaitAsync(RunTimeout);

        Assert.Equal("Completed", end.Status);
        Assert.NotNull(result);
        var steps = progress.Select(p => p.Step).ToList();
        Assert.NotEmpty(steps);
        Assert.All(steps.Zip(steps.Skip(1)), pair => Assert.True(pair.First < pair.Second, $"step {pair.Second} came after {pair.First}"));
        // A busy client may miss steps, but what it gets is what the run recorded for that step.
        var recorded = Runs.StoredEvents(runId).OfType<BatchEnded>().ToDictionary(b => b.Step);
        Assert.Equal(result.Summary.Steps, recorded.Count);
        Assert.All(progress, p =>
        {
            Assert.Equal(runId, p.RunId);
            Assert.Equal(recorded[p.Step].Loss, p.Loss);
            Assert.Equal(recorded[p.Step].TotalSteps, p.TotalSteps);
        });
        Assert.Equal("Running", statuses.First().Status);

        Assert.NotEmpty(snapshots);
        using var http = app.CreateClient();
        var snapshot = snapshots.First();
        await AssertPngAsync(http, snapshot.TrueClassMapUrl);
        await AssertPngAsync(http, snapshot.PredictedClassMapUrl);
        await AssertPngAsync(http, snapshot.ProbeUrl);
    }

    [Fact]
    public async Task A_late_joiner_gets_the_whole_history_with_every_step_once()
    {
        var (runId, result) = await FinishedRunAsync();

        await using var hub = Connect();
        await hub.StartAsync();
        await hub.InvokeAsync("JoinRun", runId);
        var history = await hub.InvokeAsync<RunHistoryMessage>("GetHistory", runId, 0L);

        var total = result.Summary.Steps;
        Assert.Equal(Enumerable.Range(1, (int)total).Select(s => (long)s), history.Progress.Select(p => p.Step));
        Assert.Equal([0, 1], history.Epochs.Select(e => e.Epoch));
        Assert.Equal("Completed", history.Statuses[^1].Status);
        Assert.Equal("Completed", history.Run?.Status);
        Assert.False(history.Run!.Live);
        // Probes are filmed at step 0 and every second step: each (step, probe) once.
        Assert.Equal(history.Snapshots.Count, history.Snapshots.Select(s => (s.Step, s.ProbeIndex)).Distinct().Count());
        Assert.Contains(history.Snapshots, s => s.Step == 0);
        Assert.Contains(history.Snapshots, s => s.Step == 2);

        var tail = await hub.InvokeAsync<RunHistoryMessage>("GetHistory", runId, 4L);
        Assert.Equal(Enumerable.Range(4, (int)total - 3).Select(s => (long)s), tail.Progress.Select(p => p.Step));
        Assert.All(tail.Snapshots, s => Assert.True(s.Step >= 4));

        var listed = await hub.InvokeAsync<IReadOnlyList<RunSummaryMessage>>("ListRuns");
        var summary = Assert.Single(listed, r => r.RunId == runId);
        Assert.Equal("Completed", summary.Status);
        Assert.Equal(total, summary.Steps);
        var unknown = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<RunHistoryMessage>("GetHistory", "no-such-run", 0L));
        Assert.Contains("Unknown run", unknown.Message);
    }

    [Fact]
    public async Task The_runs_rest_api_serves_lists_stored_events_and_snapshot_pngs_and_refuses_bad_names()
    {
        var (runId, result) = await FinishedRunAsync();
        using var http = app.CreateClient();

        var runs = await ReadJsonAsync<List<RunSummaryMessage>>(await http.GetAsync("/api/runs"));
        Assert.Contains(runs, r => r.RunId == runId && r.Status == "Completed" && r.Steps == result.Summary.Steps);

        var events = await ReadJsonAsync<RunHistoryMessage>(await http.GetAsync($"/api/runs/{runId}/events?since=3"));
        Assert.Equal(Enumerable.Range(3, (int)result.Summary.Steps - 2).Select(s => (long)s), events.Progress.Select(p => p.Step));
        var snapshot = events.Snapshots[0];
        await AssertPngAsync(http, snapshot.TrueClassMapUrl);
        await AssertPngAsync(http, $"/api/runs/{runId}/probes/1.png");

        await AssertProblemAsync(http, $"/api/runs/{runId}/snapshots/run.json", HttpStatusCode.BadRequest);
        await AssertProblemAsync(http, $"/api/runs/{runId}/snapshots/..%2F..%2Frun.json", HttpStatusCode.BadRequest);
        await AssertProblemAsync(http, $"/api/runs/{runId}/snapshots/step-9999999-probe-0-true.png", HttpStatusCode.NotFound);
        await AssertProblemAsync(http, $"/api/runs/{runId}/probes/7.png", HttpStatusCode.NotFound);
        await AssertProblemAsync(http, "/api/runs/..%2F..%2Fmodels/events", HttpStatusCode.BadRequest);
        await AssertProblemAsync(http, "/api/runs/no-such-run/events", HttpStatusCode.NotFound);

        var openApi = await http.GetStringAsync("/openapi/v1.json");
        foreach (var operation in new[] { "ListRuns", "GetRunEvents", "GetRunSnapshot", "GetRunProbe" })
            Assert.Contains($"\"operationId\": \"{operation}\"", openApi);
    }

    [Fact]
    public async Task Watch_follows_a_live_run_to_completion_and_prints_the_final_json()
    {
        var runId = NewRunId("watch");
        var run = await StartRunAsync(runId);

        var (exit, stdout, stderr) = await RunCliAsync("watch", runId, "--url", app.BaseAddress.ToString(), "--token", app.TokenOf(TeamRoles.Viewer), "--json");

        Assert.True(exit == 0, stderr);
        var result = await run.Completion.WaitAsync(RunTimeout);
        Assert.NotNull(result);
        using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
        var root = json.RootElement;
        Assert.Equal(runId, root.GetProperty("runId").GetString());
        Assert.Equal("completed", root.GetProperty("status").GetString());
        Assert.Equal(result.Summary.Steps, root.GetProperty("steps").GetInt64());
        Assert.Equal(result.Summary.BestValidationAccuracy, root.GetProperty("bestAccuracy").GetDouble(), 1e-9);
        var stored = Runs.StoredEvents(runId).OfType<SnapshotTaken>().Count();
        Assert.True(stored > 0);
        Assert.Equal(stored, root.GetProperty("snapshotsSeen").GetInt32());
        Assert.Contains("epoch 2: validation accuracy", stderr);
    }

    [Fact]
    public async Task Watch_exits_1_with_the_final_json_when_the_run_fails()
    {
        // One category cannot be trained: the job fails before its first step, so the watcher learns
        // the outcome from the server rather than from a status message.
        var folder = Path.Combine(app.DataRoot, "datasets", "one-category");
        Directory.CreateDirectory(Path.Combine(folder, "Only"));
        File.Copy(Directory.EnumerateFiles(Dataset(), "*.png", SearchOption.AllDirectories).First(), Path.Combine(folder, "Only", "a.png"), overwrite: true);
        var runId = NewRunId("fails");
        await Runs.StartAsync(runId, new TrainingJobSpec { DataFolder = folder, RunFolder = "" });

        var (exit, stdout, stderr) = await RunCliAsync("watch", runId, "--url", app.BaseAddress.ToString(), "--token", app.TokenOf(TeamRoles.Viewer), "--json");

        Assert.True(exit == 1, stderr);
        using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
        Assert.Equal(runId, json.RootElement.GetProperty("runId").GetString());
        Assert.Equal("failed", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(0, json.RootElement.GetProperty("steps").GetInt64());
    }

    [Fact]
    public async Task Watch_fails_with_one_line_for_an_unknown_run_and_for_an_unreachable_server()
    {
        var (exit, stdout, stderr) = await RunCliAsync("watch", "no-such-run", "--url", app.BaseAddress.ToString(), "--token", app.TokenOf(TeamRoles.Viewer), "--json");
        Assert.Equal(1, exit);
        Assert.Equal("", stdout.Trim());
        var error = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", error);
        Assert.Contains("no-such-run", error);

        // A port that was just free: nothing listens on it.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        (exit, stdout, stderr) = await RunCliAsync("watch", "any-run", "--url", $"http://127.0.0.1:{port}", "--json");
        Assert.Equal(1, exit);
        error = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: cannot reach RetailCam at http://127.0.0.1:{port}/", error);
    }

    private HubConnection Connect() => new HubConnectionBuilder()
        .WithUrl(new Uri(app.BaseAddress, TrainingHubEndpoints.Path), options => options.AccessTokenProvider = () => Task.FromResult<string?>(app.TokenOf(TeamRoles.Viewer)))
        .AddJsonProtocol(json => json.PayloadSerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)
        .Build();

    private static string NewRunId(string label) => $"{TrainingRunService.NewRunId(label)}-{Guid.NewGuid():N}"[..^24];

    /// <summary>A real ResNet18 run small enough for seconds on two cores: 32² inputs, ~5 steps an epoch, 2 epochs.</summary>
    private Task<LiveRun> StartRunAsync(string runId) => Runs.StartAsync(runId, new TrainingJobSpec
    {
        DataFolder = Dataset(),
        RunFolder = "",
        Backbone = BackboneKind.ResNet18,
        LoaderWorkers = 1,
        Settings = TrainingSettings.Exactly(new TrainingOptions
        {
            Epochs = 2,
            BatchSize = 16,
            ImageSize = 32,
            SnapshotEverySteps = 2,
            ProbeCount = 2,
            WarmupSteps = 2,
            HeadOnlySteps = 2,
            CheckpointEverySteps = 0,
        }),
    });

    /// <summary>One finished run shared by the tests that only read what a run left behind (saves a run's seconds).</summary>
    private Task<(string RunId, TrainingJobResult Result)> FinishedRunAsync() => finishedRuns.GetValue(app, _ => RunToEndAsync());

    private async Task<(string RunId, TrainingJobResult Result)> RunToEndAsync()
    {
        var runId = NewRunId("finished");
        var result = await (await StartRunAsync(runId)).Completion.WaitAsync(RunTimeout);
        Assert.NotNull(result);
        await WaitUntilNotLiveAsync(runId);
        return (runId, result);
    }

    private async Task WaitUntilNotLiveAsync(string runId)
    {
        // The service keeps a finished run live a moment so its last events reach every consumer.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Runs.Live(runId) is not null && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Null(Runs.Live(runId));
    }

    /// <summary>Three shape categories, 30 PNGs each, written once into the app's data folder.</summary>
    private string Dataset()
    {
        var folder = Path.Combine(app.DataRoot, "datasets", "shapes");
        lock (datasetGate)
        {
            if (Directory.Exists(folder)) return folder;
            new SyntheticShapes(count: 90, size: 32, seed: 17).WritePngTree(folder, "shape-");
            return folder;
        }
    }

    private static async Task AssertPngAsync(HttpClient http, string url)
    {
        var response = await http.GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {response.StatusCode}");
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(PngSignature, bytes[..8]);
    }

    private static async Task AssertProblemAsync(HttpClient http, string url, HttpStatusCode status)
    {
        var response = await http.GetAsync(url);
        Assert.True(response.StatusCode == status, $"{url}: {response.StatusCode}, expected {status}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonSerializer.Deserialize<T>(await response.Content.ReadAsStringAsync(), RetailCam.Engine.EngineJson.Options)!;
    }

    private static Task<(int Exit, string Stdout, string Stderr)> RunCliAsync(params string[] args) =>
        ConsoleCapture.RunAsync(() => RetailCam.Cli.CliProgram.InvokeAsync(args), RunTimeout);
}
