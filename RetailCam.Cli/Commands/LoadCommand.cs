using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using RetailCam.Cli.Load;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace RetailCam.Cli.Commands;

/// <summary>
/// retailcam load --url URL [--token T] [--clients N] [--seconds S] [--photos DIR] [--per-request K] [--run ID] [--json]:
/// N clients predicting photos through POST /api/predict of an app on this machine for S seconds, with
/// what a training run of that app managed meanwhile. Exits 0 when it ran, 1 when no request succeeded
/// or the app did not answer, 2 when the command line was refused.
/// </summary>
internal static class LoadCommand
{
    /// <summary>How often the training run is looked at during the load (the figures come from its stored steps).</summary>
    private static readonly TimeSpan TrainingLookInterval = TimeSpan.FromSeconds(2);

    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "Address of a RetailCam app on this machine (loopback only), e.g. http://127.0.0.1:5080.", Required = true };
        var accessToken = RemoteApp.TokenOption();
        var clients = new Option<int>("--clients")
        {
            Description = $"Concurrent clients, each sending its next request when its last one is answered (1–{LoadSettings.MaxClients}).",
            DefaultValueFactory = _ => 8,
        };
        var seconds = new Option<int>("--seconds") { Description = $"How long the load runs (1–{LoadSettings.MaxSeconds}).", DefaultValueFactory = _ => 30 };
        var photos = new Option<string?>("--photos") { Description = "A folder of photos to send, sub-folders included (default: 8 generated 640×480 JPEGs)." };
        var perRequest = new Option<int>("--per-request")
        {
            Description = $"Photos in one request (1–{LoadSettings.MaxPhotosPerRequest}).",
            DefaultValueFactory = _ => 1,
        };
        var maxRequests = new Option<int>("--max-requests")
        {
            Description = $"Stop after this many requests even if time is left (1–{LoadSettings.MaxRequestsCeiling}).",
            DefaultValueFactory = _ => 100_000,
        };
        var timeout = new Option<int>("--timeout")
        {
            Description = $"Seconds a request may take before it counts as a timeout (1–{LoadSettings.MaxTimeoutSeconds}).",
            DefaultValueFactory = _ => 30,
        };
        var run = new Option<string?>("--run") { Description = "The training run to measure beside the load (default: the run training now, if any)." };
        var json = CliRunner.JsonOption();

        var command = new Command("load", "Load a RetailCam app on this machine with concurrent predictions; report throughput, errors, latency percentiles and the training images/s meanwhile.")
        {
            url, accessToken, clients, seconds, photos, perRequest, maxRequests, timeout, run, json,
        };
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            var settings = await LoadSettings.CheckAsync(parse.GetValue(url)!, parse.GetValue(clients), parse.GetValue(seconds), parse.GetValue(perRequest),
                parse.GetValue(maxRequests), parse.GetValue(timeout), token);
            var photoSet = parse.GetValue(photos) is { } folder ? LoadPhotos.FromFolder(folder) : LoadPhotos.Generated();
            var bearer = RemoteApp.Token(parse, accessToken);
            using var loadClient = RemoteApp.Client(settings.Server, bearer, settings.RequestTimeout, LoopbackOnly.Handler());
            // Looks at the app go on their own connection, so they never wait behind the load's requests.
            using var lookClient = RemoteApp.Client(settings.Server, bearer, TimeSpan.FromSeconds(10), LoopbackOnly.Handler());

            var progress = new CliProgress();
            LoadTally tally;
            TrainingDuringLoad? training;
            try
            {
                var pace = TrainingPace.Choose(await TrainingPace.ListAsync(lookClient, bearer, token), lookClient, parse.GetValue(run), out var note);
                if (note is not null) progress.Message(note);
                if (!await ServesPredictionsAsync(lookClient, token))
                    progress.Message("the app has no model serving predictions yet: expect 503 to every request.");
                (tally, training) = await RunWithProgressAsync(new PredictLoad(loadClient, settings, photoSet), pace, settings, progress, token);
            }
            finally
            {
                progress.Done();
            }

            var report = LoadReport.From(settings, photoSet.Count, tally, training);
            if (parse.GetValue(json)) CliRunner.WriteJson(report);
            else WriteTable(report);
            if (tally.Succeeded > 0) return 0;
            Console.Error.WriteLine(tally.Requests == 0
                ? $"error: no request was answered within the {report.Seconds} s."
                : $"error: every request failed ({Describe(report.ErrorsByKind)}).");
            return 1;
        }, cancellationToken));
        return command;
    }

    private static async Task<(LoadTally, TrainingDuringLoad?)> RunWithProgressAsync(PredictLoad load, TrainingPace? pace, LoadSettings settings,
        CliProgress progress, CancellationToken cancellationToken)
    {
        using var looking = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var follow = pace?.FollowAsync(TrainingLookInterval, looking.Token) ?? Task.CompletedTask;
        var clock = Stopwatch.StartNew();
        var loading = load.RunAsync(cancellationToken);
        while (!loading.IsCompleted)
        {
            await Task.WhenAny(loading, Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken));
            var elapsed = clock.Elapsed.TotalSeconds;
            var done = load.Succeeded + load.Failed;
            progress.Report(Math.Min(elapsed / settings.Duration.TotalSeconds, 1),
                $"{elapsed:F0}/{settings.Duration.TotalSeconds:F0} s  {done} requests, {load.Failed} errors, {done / Math.Max(elapsed, 1e-3):F1}/s"
                + (pace is null ? "" : $"; training step {pace.LastStep}"));
        }
        var tally = await loading;
        await looking.CancelAsync();
        await follow;
        if (pace is null) return (tally, null);
        try
        {
            return (tally, await pace.MeasureAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            // The load's own figures stand without the training ones.
            progress.Message($"could not read the steps of run {pace.RunId}: {ex.Message}");
            return (tally, null);
        }
    }

    /// <summary>Whether the app names a model serving now (GET /api/models); without one every predict request is refused.</summary>
    private static async Task<bool> ServesPredictionsAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var models = await client.GetFromJsonAsync<ModelsListing>("api/models", CliRunner.Json, cancellationToken);
        return models?.Active is not null;
    }

    private sealed record ModelsListing(string? Active);

    private static void WriteTable(LoadReport report)
    {
        // Built on the current Console.Out, so output redirected after start (a pipe, a test) is where the table goes.
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        var table = new Table().Border(TableBorder.Rounded).AddColumn("load").AddColumn(new TableColumn("").RightAligned());
        void Row(string name, string value) => table.AddRow(new IRenderable[] { new Text(name), new Text(value) });
        string Ms(double value) => value.ToString("F1", CultureInfo.InvariantCulture) + " ms";

        Row("app", report.Url);
        Row("clients × seconds", $"{report.Clients} × {report.Seconds} s ({report.ElapsedSeconds:F1} s measured)");
        Row("photos", $"{report.PhotosPerRequest} a request, {report.Photos} different");
        Row("requests", $"{report.Requests}{(report.RequestCapReached ? " (the request cap ended the load)" : "")}");
        Row("requests/s", report.RequestsPerSecond.ToString("F1", CultureInfo.InvariantCulture));
        Row("photos/s", report.PhotosPerSecond.ToString("F1", CultureInfo.InvariantCulture));
        Row("errors", report.Errors == 0 ? "0" : $"{report.Errors} ({Describe(report.ErrorsByKind)})");
        if (report.UnfinishedAtEnd > 0) Row("cut off at the end", report.UnfinishedAtEnd.ToString(CultureInfo.InvariantCulture));
        if (report.LatencyMs is { } latency)
        {
            Row("latency p50", Ms(latency.P50));
            Row("latency p95", Ms(latency.P95));
            Row("latency p99", Ms(latency.P99));
            Row("latency max", Ms(latency.Max));
        }
        else Row("latency", "no successful request");
        if (report.TrainingRun is null) Row("training", "no run training");
        else
        {
            Row("training run", report.TrainingRun);
            Row("training images/s", $"{report.TrainingImagesPerSecond:F1} during the load"
                + (report.TrainingImagesPerSecondBefore is { } before ? $", {before:F1} just before" : ""));
            Row("training steps", report.TrainingSteps?.ToString(CultureInfo.InvariantCulture) ?? "");
            if (report.TrainingStatusAfter != "running") Row("training ended", $"{report.TrainingStatusAfter} within the load: its figures cover part of it");
        }
        console.Write(table);
    }

    private static string Describe(IReadOnlyDictionary<string, int> errors) => string.Join(", ", errors.Select(e => $"{e.Key} ×{e.Value}"));
}
