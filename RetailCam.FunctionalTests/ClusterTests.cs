using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RetailCam.Tests.Support;
using Xunit.Abstractions;

namespace RetailCam.FunctionalTests;

/// <summary>
/// The local cluster as `deploy/local-cluster.sh up` starts it: PostgreSQL, Redis, nginx with sticky
/// sessions, two web nodes and two workers on one data root, all real processes on loopback. A run
/// started through node A trains on a worker while a viewer on node B follows it; a bulk job is split
/// over both workers, survives one of them being killed, and gives the single-process CSV.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string state = Path.Combine(Path.GetTempPath(), $"retailcam-cluster-test-{Guid.NewGuid():N}");
    private JsonElement cluster;
    private Dictionary<string, string> clusterEnvironment = [];

    private static string Script => Path.Combine(AppProcess.RepositoryRoot(), "deploy", "local-cluster.sh");

    private Dictionary<string, string> ScriptEnvironment() => new()
    {
        ["RETAILCAM_CLUSTER_STATE"] = state,
        ["RETAILCAM_WEB_DLL"] = AppProcess.WebAppDll(),
        ["RETAILCAM_WORKER_DLL"] = AppProcess.WorkerDll(),
        // Small chunks, so a few hundred photos make enough of them for two workers and a kill;
        // a dead worker's chunk goes back to the queue soon.
        ["RetailCam__Jobs__BulkChunkSize"] = "120",
        ["RetailCam__Jobs__InvisibilitySeconds"] = "15",
        // Two workers share two cores: one thread each, as a machine per worker would have its own.
        ["RetailCam__Threads"] = "1",
    };

    public async Task InitializeAsync()
    {
        var (code, stdout, stderr) = await RunAsync("bash", [Script, "up"], ScriptEnvironment(), TimeSpan.FromMinutes(8));
        Log($"local-cluster.sh up: exit {code}\n{stderr.Trim()}");
        Assert.True(code == 0, $"local-cluster.sh up failed ({code}):\n{stdout}\n{stderr}");
        cluster = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]).RootElement.Clone();
        clusterEnvironment = cluster.GetProperty("env").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    public async Task DisposeAsync()
    {
        var (code, _, stderr) = await RunAsync("bash", [Script, "down", "--purge"], ScriptEnvironment(), TimeSpan.FromMinutes(3));
        Log($"local-cluster.sh down: exit {code}\n{stderr.Trim()}");
    }

    private string DataRoot => clusterEnvironment["RetailCam__DataRoot"];
    private Uri Node(int index) => new(cluster.GetProperty("nodes")[index].GetString()!);
    private Uri Balancer => new(cluster.GetProperty("balancer").GetString()!);
    private string LogOf(string name) => File.Exists(Path.Combine(state, "logs", name + ".log")) ? File.ReadAllText(Path.Combine(state, "logs", name + ".log")) : "";
    private int PidOf(string name) => int.Parse(File.ReadAllText(Path.Combine(state, "pids", name + ".pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private void Log(string message) => output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {message}");

    [Fact]
    public async Task A_run_trains_on_a_worker_watched_from_the_other_node_and_a_bulk_job_shared_by_both_workers_survives_a_kill()
    {
        // A team member, made with the environment the script printed: the CLI acts on the cluster's database.
        var (added, _, addErrors) = await RunAsync("dotnet", [AppProcess.CliDll(), "users", "add", "lead", "--role", "admin", "--password-stdin"], clusterEnvironment,
            TimeSpan.FromMinutes(2), stdin: "cluster-pass-phrase\n");
        Assert.True(added == 0, addErrors);
        var (issued, tokenJson, tokenErrors) = await RunAsync("dotnet", [AppProcess.CliDll(), "tokens", "create", "lead", "--json"], clusterEnvironment, TimeSpan.FromMinutes(2));
        Assert.True(issued == 0, tokenErrors);
        var token = ToolProcess.LastJson(tokenJson).RootElement.GetProperty("token").GetString()!;
        using var nodeA = Client(Node(0), token);
        using var nodeB = Client(Node(1), token);
        Assert.NotEqual(Header(await nodeA.GetAsync("/healthz"), "X-RetailCam-Node"), Header(await nodeB.GetAsync("/healthz"), "X-RetailCam-Node"));

        // 0. The balancer spreads new clients over both nodes and keeps each one on its node (Blazor's circuits need it).
        var fresh = new HashSet<string?>();
        for (var i = 0; i < 24 && fresh.Count < 2; i++)
        {
            using var stranger = new HttpClient { BaseAddress = Balancer };
            fresh.Add(Header(await stranger.GetAsync("/healthz"), "X-RetailCam-Node"));
        }
        Assert.Equal(2, fresh.Count);
        using (var visitor = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = Balancer })
        {
            var answered = new List<string?>();
            for (var i = 0; i < 8; i++) answered.Add(Header(await visitor.GetAsync("/healthz"), "X-RetailCam-Node"));
            Assert.Single(answered.Distinct());
        }
        // A sign-in form from node A is accepted by node B, and B's cookie by A: the nodes share their Data Protection keys.
        var jar = new CookieContainer();
        using (var browser = new HttpClient(new HttpClientHandler { CookieContainer = jar, AllowAutoRedirect = false }))
        {
            var form = await browser.GetStringAsync(new Uri(Node(0), "/account/login"));
            var antiforgery = System.Text.RegularExpressions.Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
            var signedIn = await browser.PostAsync(new Uri(Node(1), "/account/login"), new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["userName"] = "lead", ["password"] = "cluster-pass-phrase", ["returnUrl"] = "/", ["__RequestVerificationToken"] = antiforgery,
            }));
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            Assert.Equal("/", signedIn.Headers.Location?.OriginalString);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(Node(0), "/api/models"))).StatusCode);
        }
        Log("the balancer keeps a client on its node; a sign-in on node B from node A's form works on node A");

        // 1. A run started through node A's API trains on a worker; `retailcam watch` on node B follows it to its end.
        new SyntheticShapes(120, 32, seed: 61).WritePngTree(Path.Combine(DataRoot, "shapes"));
        var dataset = (await Json(await nodeA.PostAsJsonAsync("/api/datasets", new { name = "Cluster shapes", folder = "shapes" }))).GetProperty("id").GetString()!;
        var started = await nodeA.PostAsJsonAsync("/api/runs", new { dataset, epochs = 2, batchSize = 16, imageSize = 32, minutes = 0, snapshotEvery = 4, probes = 2 });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var runId = (await Json(started)).GetProperty("id").GetString()!;
        Log($"run {runId} started through node A");
        var (watched, watchOut, watchErrors) = await RunAsync("dotnet", [AppProcess.CliDll(), "watch", runId, "--url", Node(1).ToString(), "--token", token, "--json"],
            new Dictionary<string, string>(), TimeSpan.FromMinutes(6));
        Assert.True(watched == 0, $"retailcam watch on node B exited {watched}: {watchOut}{watchErrors}");
        var outcome = ToolProcess.LastJson(watchOut).RootElement;
        Log($"retailcam watch on node B: {outcome}");
        Assert.Equal("completed", outcome.GetProperty("status").GetString(), ignoreCase: true);
        Assert.True(outcome.GetProperty("steps").GetInt64() > 0);
        var run = await Json(await nodeB.GetAsync($"/api/runs/{runId}"));
        Assert.Equal("Completed", run.GetProperty("status").GetString());
        // Trained by a worker, not by a web node.
        var trainedBy = new[] { "worker-1", "worker-2" }.Where(w => LogOf(w).Contains($"Run {runId}:", StringComparison.Ordinal)).ToList();
        Assert.Single(trainedBy);
        Assert.DoesNotContain($"Run {runId}:", LogOf("web-a") + LogOf("web-b"), StringComparison.Ordinal);
        Log($"the run trained on {trainedBy[0]}");

        // 2. A bulk job over a couple of thousand photos, split over both workers; one worker is killed while it works on a chunk.
        var photos = Path.Combine(DataRoot, "bulk");
        new SyntheticShapes(2400, 32, seed: 62).WritePngTree(photos);
        var job = await Json(await nodeA.PostAsJsonAsync("/api/catalogue", new { folder = "bulk" }));
        var jobId = job.GetProperty("id").GetString()!;
        var chunks = job.GetProperty("chunks").GetInt32();
        Log($"bulk job {jobId}: {job.GetProperty("total").GetInt32()} photos in {chunks} chunks");
        Assert.True(chunks >= 6);
        var victim = "";
        await WaitUntilAsync(() =>
        {
            // Both workers have done a chunk, and one of them is in the middle of another.
            var busy = new[] { "worker-1", "worker-2" }.Where(w => Chunks(w, jobId, "done").Count > 0).ToList();
            victim = busy.Count == 2 ? busy.FirstOrDefault(w => InFlight(w, jobId).Count > 0) ?? "" : "";
            return Task.FromResult(victim.Length > 0);
        }, TimeSpan.FromMinutes(4), "both workers to have done a chunk and one to be at another");
        Process.GetProcessById(PidOf(victim)).Kill();
        var cut = InFlight(victim, jobId);
        Log($"kill -9 {victim} in chunk {string.Join(", ", cut)}, after {Chunks(victim, jobId, "done").Count} chunks");

        JsonElement finished = default;
        await WaitUntilAsync(async () => (finished = await Json(await nodeB.GetAsync($"/api/catalogue/{jobId}"))).GetProperty("finished").GetBoolean(),
            TimeSpan.FromMinutes(6), "the bulk job to finish");
        Log($"bulk job finished: {finished}");
        Assert.Equal(JsonValueKind.Null, finished.GetProperty("error").ValueKind);
        Assert.Equal(finished.GetProperty("total").GetInt32(), finished.GetProperty("done").GetInt32());
        // The chunk the kill cut short was done again, by the other worker; every chunk was done.
        var survivor = victim == "worker-1" ? "worker-2" : "worker-1";
        Assert.NotEmpty(cut);
        Assert.Subset(Chunks(survivor, jobId, "done").ToHashSet(), cut.ToHashSet());
        Assert.Equal(Enumerable.Range(1, chunks).ToHashSet(), Chunks("worker-1", jobId, "done").Concat(Chunks("worker-2", jobId, "done")).ToHashSet());
        Log($"chunk {string.Join(", ", cut)} was done again by {survivor}");

        // 3. The same CSV as one process gives: `retailcam catalogue` over the same folder with the same model.
        var clusterCsv = await (await nodeA.GetAsync($"/api/catalogue/{jobId}.csv")).Content.ReadAsStringAsync();
        var reference = Path.Combine(state, "single-process.csv");
        var (catalogued, _, catalogueErrors) = await RunAsync("dotnet",
            [AppProcess.CliDll(), "catalogue", "--model", Path.Combine(DataRoot, "runs", runId), "--in", photos, "--out", reference], clusterEnvironment, TimeSpan.FromMinutes(4));
        Assert.True(catalogued == 0, catalogueErrors);
        Assert.Equal(SortedRows(File.ReadAllText(reference)), SortedRows(clusterCsv));
        Assert.Equal(SortedRows(clusterCsv), clusterCsv.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
        Log($"cluster CSV = single-process CSV: {clusterCsv.Split('\n').Length - 2} rows");

        // 4. The Catalogue page through the balancer: a categorisation started there is followed to its end on the page.
        var chromium = new BrowserFixture();
        await chromium.InitializeAsync();
        try
        {
            var page = await chromium.Browser.NewPageAsync();
            await BrowserFixture.SignInAsync(page, Balancer, "lead", "cluster-pass-phrase");
            await page.GotoAsync(new Uri(Balancer, "/catalogue").ToString());
            await page.GetByTestId("app-interactive").WaitForAsync(new() { State = Microsoft.Playwright.WaitForSelectorState.Attached, Timeout = 60_000 });
            await page.Locator("input[data-testid=folder-input], [data-testid=folder-input] input").First.FillAsync("bulk");
            await page.Keyboard.PressAsync("Escape");
            await page.GetByTestId("start-catalogue").ClickAsync();
            await page.GetByTestId("catalogue-done").WaitForAsync(new() { Timeout = 240_000 });
            Assert.Equal("2400", (await page.GetByTestId("catalogue-count").InnerTextAsync()).Trim());
            Assert.Contains($"{chunks} of {chunks} chunks", await page.GetByTestId("catalogue-chunks").InnerTextAsync(), StringComparison.Ordinal);
            await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "cluster-catalogue.png"), FullPage = true });
            Log("the Catalogue page through the balancer followed a categorisation on the remaining worker to its end");
        }
        finally
        {
            await chromium.DisposeAsync();
        }
    }

    /// <summary>The chunks (numbered from 1) of a job a worker started or finished, from its log (a killed worker's log keeps what it did).</summary>
    private List<int> Chunks(string worker, string jobId, string what)
    {
        var pattern = new System.Text.RegularExpressions.Regex($"Categorisation {Guid.Parse(jobId)}: chunk (\\d+) of \\d+ {what}");
        return LogOf(worker).Split('\n').Select(l => pattern.Match(l)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    private List<int> InFlight(string worker, string jobId) => Chunks(worker, jobId, "started").Except(Chunks(worker, jobId, "done")).ToList();

    /// <summary>The header, then the rows in name order: `retailcam catalogue` writes rows as they finish.</summary>
    private static string[] SortedRows(string csv)
    {
        var lines = csv.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        return [lines[0], .. lines.Skip(1).Order(StringComparer.Ordinal)];
    }

    private static HttpClient Client(Uri address, string token)
    {
        var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited {within} for {what}.");
            await Task.Delay(250);
        }
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, string[] args, IReadOnlyDictionary<string, string> environment,
        TimeSpan timeout, string? stdin = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {timeout}: {await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>The cluster test runs alone: it starts a dozen processes on two cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "Local cluster";
}
