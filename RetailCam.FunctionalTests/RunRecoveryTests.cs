using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Training;
using RetailCam.Storage;
using RetailCam.Storage.Accounts;
using RetailCam.Tests.Support;
using Xunit.Abstractions;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>
/// The kill drill: a run started in the web app survives the app being killed with SIGKILL and stopped
/// with SIGTERM, resumed each time from its checkpoint, and its store holds every step once.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class RunRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private const int Epochs = 6;
    private readonly string dataRoot = Directory.CreateTempSubdirectory("retailcam-drill-").FullName;
    private System.Diagnostics.Process? watcher;

    public void Dispose()
    {
        if (watcher is { HasExited: false }) watcher.Kill(entireProcessTree: true);
        watcher?.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(dataRoot, recursive: true); } catch (IOException) { }
    }

    /// <summary>The data folder's database, opened while no app runs on it.</summary>
    private ServiceProvider Storage() =>
        new ServiceCollection().AddLogging().AddRetailCamStorage(dataRoot).BuildServiceProvider();

    private void Log(string message) => output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {message}");

    private RunPaths Paths(string runId) => new DataRootLayout(dataRoot).Run(runId);

    private long CheckpointStep(string runId) =>
        Checkpoint.Find(Paths(runId).CheckpointFolder) is { } folder ? Checkpoint.ReadPosition(folder)?.Step ?? 0 : 0;

    private long LastRecordedStep(string runId) =>
        new RunFolder(Paths(runId)).ReadEvents().OfType<BatchEnded>().Select(b => b.Step).DefaultIfEmpty(0).Max();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited {within} for {what}.");
            await Task.Delay(100);
        }
    }

    private static HttpClient ClientOf(AppProcess app, string token)
    {
        var client = new HttpClient { BaseAddress = app.Address };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Fact]
    public async Task A_run_survives_kill_9_and_sigterm_and_completes_with_every_step_stored_once()
    {
        string token;
        await using (var storage = Storage())
        {
            await StorageInitializer.InitializeAsync(storage);
            token = await WebAppFixture.AddMemberAsync(storage, "drill-trainer", TeamRoles.Trainer);
        }
        new SyntheticShapes(200, 32, seed: 21).WritePngTree(Path.Combine(dataRoot, "shapes"));

        // 1. Start a run, and kill the app once the run has checkpointed and trained on.
        // The app comes back on the same address, so a viewer following the run can reconnect.
        var port = AppProcess.FreePort();
        string runId;
        Task<string>? watched = null;
        Task<string>? watchErrors = null;
        await using (var first = await AppProcess.StartAsync(dataRoot, port))
        {
            using var client = ClientOf(first, token);
            var dataset = (await Json(await client.PostAsJsonAsync("/api/datasets", new { name = "Drill shapes", folder = "shapes" }))).GetProperty("id").GetString()!;
            var started = await client.PostAsJsonAsync("/api/runs", new { dataset, epochs = Epochs, batchSize = 16, imageSize = 32, minutes = 0, snapshotEvery = 4, probes = 2 });
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            runId = (await Json(started)).GetProperty("id").GetString()!;
            Log($"app 1 (pid {first.Id}) started run {runId}");
            // A live viewer: `retailcam watch` in a process of its own, from the first app to the second.
            var watch = new System.Diagnostics.ProcessStartInfo("dotnet", [AppProcess.CliDll(), "watch", runId, "--url", first.Address.ToString(), "--token", token, "--json"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            watcher = System.Diagnostics.Process.Start(watch)!;
            watched = watcher.StandardOutput.ReadToEndAsync();
            watchErrors = watcher.StandardError.ReadToEndAsync();
            await WaitUntilAsync(() => Task.FromResult(CheckpointStep(runId) > 0 && LastRecordedStep(runId) > CheckpointStep(runId)), TimeSpan.FromMinutes(3), "a checkpoint and a step beyond it");
            var (checkpointed, recorded) = (CheckpointStep(runId), LastRecordedStep(runId));
            await first.KillAsync();
            Log($"kill -9 app 1 at step {recorded} (checkpoint at step {checkpointed})");
        }

        // 2. A new start resumes it by itself; stop that app with SIGTERM while the run trains.
        long stoppedAt;
        await using (var second = await AppProcess.StartAsync(dataRoot, port))
        {
            using var client = ClientOf(second, token);
            var resumedFrom = CheckpointStep(runId);
            await WaitUntilAsync(async () => (await Json(await client.GetAsync($"/api/runs/{runId}"))) is var run
                && run.GetProperty("live").GetBoolean() && run.GetProperty("step").GetInt64() > resumedFrom + 2, TimeSpan.FromMinutes(2), "the run to resume");
            Log($"app 2 (pid {second.Id}) resumed the run from step {resumedFrom}");
            var exitCode = await second.TerminateAsync(TimeSpan.FromMinutes(1));
            Assert.Equal(0, exitCode);
            (stoppedAt, var recorded) = (CheckpointStep(runId), LastRecordedStep(runId));
            Log($"SIGTERM app 2: exit code {exitCode}, checkpoint at step {stoppedAt}, last recorded step {recorded}");
            foreach (var line in second.Output.Split('\n').SkipWhile(l => !l.Contains("Application is shutting down", StringComparison.Ordinal))) output.WriteLine($"  app 2: {line}");
            // The shutdown checkpoints where the run stands: no step is lost.
            Assert.Equal(recorded, stoppedAt);
            Assert.Contains("resumes on the next start", second.Output);
        }
        await using (var storage = Storage())
        {
            var row = (await storage.GetRequiredService<RunHistory>().GetAsync(runId))!;
            Assert.Equal(nameof(RunStatus.Stopped), row.Status);
            Assert.True(row.ResumeOnStart);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        // 3. Told not to resume by itself, a start marks the run Interrupted; a trainer resumes it and it completes.
        await using (var third = await AppProcess.StartAsync(dataRoot, port, ("RetailCam:Runs:ResumeAfterRestart", "false")))
        {
            using var client = ClientOf(third, token);
            // The viewer reconnected to the second app and followed the resumed run to its stop by the shutdown (steps the first app never trained).
            using (var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1))) await watcher!.WaitForExitAsync(patience.Token);
            var lines = (await watched!).Trim();
            Assert.True(watcher.ExitCode == 0 && lines.Length > 0, $"retailcam watch exited {watcher.ExitCode}: {lines}{await watchErrors!}");
            var outcome = System.Text.Json.JsonDocument.Parse(lines.Split('\n')[^1]).RootElement;
            Log($"retailcam watch (pid {watcher.Id}) followed the run across the kill and the shutdown: {outcome.GetProperty("status").GetString()} after {outcome.GetProperty("steps").GetInt64()} steps");
            Assert.Equal("stopped", outcome.GetProperty("status").GetString(), ignoreCase: true);
            Assert.Equal(stoppedAt, outcome.GetProperty("steps").GetInt64());

            var interrupted = await Json(await client.GetAsync($"/api/runs/{runId}"));
            Assert.Equal(nameof(RunStatus.Interrupted), interrupted.GetProperty("status").GetString());
            Assert.False(interrupted.GetProperty("live").GetBoolean());
            Log($"app 3 (pid {third.Id}) found the run {interrupted.GetProperty("status").GetString()}");
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/api/runs/{runId}/resume", null)).StatusCode);
            await WaitUntilAsync(async () => (await Json(await client.GetAsync($"/api/runs/{runId}"))) is var run
                && run.GetProperty("status").GetString() == nameof(RunStatus.Completed) && !run.GetProperty("live").GetBoolean(), TimeSpan.FromMinutes(5), "the run to complete");
            var done = await Json(await client.GetAsync($"/api/runs/{runId}"));
            Log($"run completed: step {done.GetProperty("step").GetInt64()}, {done.GetProperty("metrics").GetArrayLength()} epochs, best accuracy {done.GetProperty("bestAccuracy").GetDouble():P1}");
            Assert.Equal(Epochs, done.GetProperty("metrics").GetArrayLength());
            Assert.Equal(Enumerable.Range(0, Epochs), done.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("epoch").GetInt32()));
        }

        // The store holds every step once, in order, and every snapshot once.
        var run = new RunFolder(Paths(runId));
        var steps = run.ReadEvents().OfType<BatchEnded>().Select(b => b.Step).ToList();
        Assert.Equal(Enumerable.Range(1, steps.Count).Select(s => (long)s), steps);
        var epochs = run.ReadEvents().OfType<EpochEnded>().Select(e => e.Epoch).ToList();
        Assert.Equal(Enumerable.Range(0, Epochs), epochs);
        var snapshots = run.ReadEvents(snapshots: true).OfType<SnapshotTaken>().Select(s => (s.Step, s.ProbeIndex)).ToList();
        Assert.NotEmpty(snapshots);
        Assert.Equal(snapshots.Count, snapshots.Distinct().Count());
        var statuses = run.ReadEvents().OfType<StatusChanged>().Select(s => $"{s.Step}:{s.Status}:{s.Message}").ToList();
        foreach (var status in statuses) Log($"  status {status}");
        Assert.Equal(2, statuses.Count(s => s.Contains("resumed at step", StringComparison.Ordinal)));
        Log($"store: {steps.Count} batch steps 1..{steps[^1]}, {epochs.Count} epochs, {snapshots.Count} snapshots, none twice");
    }
}
