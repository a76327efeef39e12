using System.CommandLine;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace RetailCam.Cli.Commands;

/// <summary>
/// Follows a training run of a RetailCam web app over its SignalR hub: the client sample for the
/// hub's contract. Exits 0 when the run completes or is stopped, 1 when it fails.
/// </summary>
internal static class WatchCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("run") { Description = "Run id, as GET /api/runs or the Runs page lists it." };
        var url = new Option<string>("--url") { Description = "Address of the RetailCam web app, e.g. http://localhost:5080.", Required = true };
        var accessToken = RemoteApp.TokenOption();
        var since = new Option<long>("--since") { Description = "Replay what the run stored from this step on before the live tail (0: the whole run).", DefaultValueFactory = _ => 0 };
        var json = CliRunner.JsonOption();

        var command = new Command("watch", "Follow a training run of a RetailCam web app live: progress on stderr, the outcome as the exit code.")
        {
            run, url, accessToken, since, json,
        };
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            var server = RemoteApp.Address(parse.GetValue(url)!);
            if (parse.GetValue(since) < 0) throw new ArgumentException("--since must be a step number, 0 or more.");
            var progress = new CliProgress();
            WatchOutcome outcome;
            // An error line must not land at the end of a half-drawn progress bar.
            var bearer = RemoteApp.Token(parse, accessToken);
            try { outcome = await new RunWatcher(server, parse.GetValue(run)!, parse.GetValue(since), progress, bearer).WatchAsync(token); }
            finally { progress.Done(); }
            if (parse.GetValue(json)) CliRunner.WriteJson(outcome);
            else Console.WriteLine($"run {outcome.RunId}: {outcome.Status} after {outcome.Steps} steps, best validation accuracy {outcome.BestAccuracy:P2}, {outcome.SnapshotsSeen} snapshots");
            return outcome.Status == "failed" ? 1 : 0;
        }, cancellationToken));
        return command;
    }
}

/// <summary>
/// Reconnects for as long as an app takes to restart and resume its runs (a CPU machine can take
/// a minute), every two seconds at first and every five after, giving up after ten minutes.
/// </summary>
internal sealed class PatientRetry : IRetryPolicy
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(10);

    public TimeSpan? NextRetryDelay(RetryContext retryContext) =>
        retryContext.ElapsedTime > GiveUpAfter ? null
        : retryContext.PreviousRetryCount == 0 ? TimeSpan.Zero
        : TimeSpan.FromSeconds(retryContext.PreviousRetryCount < 5 ? 2 : 5);
}

/// <summary>The final line of `watch --json`.</summary>
internal sealed record WatchOutcome(string RunId, string Status, long Steps, double? BestAccuracy, int SnapshotsSeen);

/// <summary>
/// Joins a run, replays its history, then follows the live tail, dropping anything already seen
/// (live events can overlap the history). The run's end is taken from its final status message, or
/// from the server once the run is no longer live, which also covers a run that failed before
/// it could send any message.
/// </summary>
internal sealed class RunWatcher(Uri server, string runId, long sinceStep, CliProgress progress, string? accessToken = null)
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    private readonly HashSet<int> epochsSeen = [];
    private readonly HashSet<(long Step, int Probe)> snapshotsSeen = [];
    private readonly HashSet<(long Step, string Status)> statusesSeen = [];
    private long lastStep = -1;
    private double? bestSeen;
    private string? endStatus;

    public async Task<WatchOutcome> WatchAsync(CancellationToken cancellationToken)
    {
        var inbox = Channel.CreateUnbounded<object>();
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server, "hubs/training"), options => options.AccessTokenProvider = () => Task.FromResult(accessToken))
            .AddJsonProtocol(json => json.PayloadSerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)
            .WithAutomaticReconnect(new PatientRetry())
            .Build();
        connection.On<ProgressMessage>("Progress", m => inbox.Writer.TryWrite(m));
        connection.On<EpochMessage>("Epoch", m => inbox.Writer.TryWrite(m));
        connection.On<StatusMessage>("Status", m => inbox.Writer.TryWrite(m));
        connection.On<SnapshotMessage>("Snapshot", m => inbox.Writer.TryWrite(m));
        // Groups do not survive a reconnect: join again and fetch what was missed meanwhile.
        connection.Reconnected += _ => { inbox.Writer.TryWrite(Resync.Instance); return Task.CompletedTask; };
        connection.Closed += error =>
        {
            inbox.Writer.TryComplete(new IOException($"lost the connection to {server}: {error?.Message ?? "closed by the server"}"));
            return Task.CompletedTask;
        };

        await ConnectAsync(connection, cancellationToken);
        var run = await connection.InvokeAsync<RunSummaryMessage?>("GetRun", runId, cancellationToken)
            ?? throw new InvalidOperationException($"the server at {server} knows no run '{runId}'.");
        await connection.InvokeAsync("JoinRun", runId, cancellationToken);
        Apply(await connection.InvokeAsync<RunHistoryMessage>("GetHistory", runId, sinceStep, cancellationToken));

        while (endStatus is null)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(IdleCheck);
            object message;
            try
            {
                message = await inbox.Reader.ReadAsync(idle.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // While the app restarts there is no one to ask; the reconnect resyncs.
                if (connection.State != HubConnectionState.Connected) continue;
                run = await connection.InvokeAsync<RunSummaryMessage?>("GetRun", runId, cancellationToken) ?? run;
                if (!run.Live) EndFromServer(run);
                continue;
            }
            catch (ChannelClosedException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
            if (message is Resync)
            {
                await connection.InvokeAsync("JoinRun", runId, cancellationToken);
                Apply(await connection.InvokeAsync<RunHistoryMessage>("GetHistory", runId, Math.Max(sinceStep, lastStep), cancellationToken));
            }
            else Apply(message, latest: true);
        }

        // The final status is sent before the run's last snapshots are written and its record is
        // saved: wait until the server lets the run go, then collect what came after.
        run = await AfterEndAsync(() => SettledAsync(connection, run, cancellationToken), run, cancellationToken);
        if (await AfterEndAsync(() => connection.InvokeAsync<RunHistoryMessage?>("GetHistory", runId, sinceStep, cancellationToken), null, cancellationToken) is { } rest)
            Apply(rest);
        return new WatchOutcome(runId, endStatus.ToLowerInvariant(), Math.Max(lastStep, run.Steps), run.BestAccuracy ?? bestSeen, snapshotsSeen.Count);
    }

    private async Task ConnectAsync(HubConnection connection, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await connection.StartAsync(timeout.Token);
        }
        catch (HttpRequestException ex) when (ex.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
        {
            throw RemoteApp.Refused(server, accessToken, (int)ex.StatusCode!, ex);
        }
        catch (HttpRequestException ex)
        {
            throw RemoteApp.Unreachable(server, ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"RetailCam at {server} did not answer within {ConnectTimeout.TotalSeconds:F0} s.");
        }
    }

    /// <summary>
    /// A question asked once the run's end is known. A server whose shutdown stopped the run may be gone
    /// by now: wait a while for the reconnect (to it, restarted), else settle for what was seen.
    /// </summary>
    private static async Task<T> AfterEndAsync<T>(Func<Task<T>> ask, T seen, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + SettleTimeout;
        while (true)
        {
            try
            {
                return await ask();
            }
            catch (Exception ex) when (ex is not HubException && !cancellationToken.IsCancellationRequested)
            {
                if (DateTime.UtcNow >= deadline) return seen;
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }
        }
    }

    private async Task<RunSummaryMessage> SettledAsync(HubConnection connection, RunSummaryMessage run, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + SettleTimeout;
        while (true)
        {
            run = await connection.InvokeAsync<RunSummaryMessage?>("GetRun", runId, cancellationToken) ?? run;
            if (!run.Live || DateTime.UtcNow >= deadline) return run;
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    private void EndFromServer(RunSummaryMessage run)
    {
        if (IsEnd(run.Status)) endStatus = run.Status;
        else throw new InvalidOperationException($"run '{runId}' is not training on the server and its last status is {run.Status}: it will not end (was the server restarted?).");
    }

    private void Apply(RunHistoryMessage history)
    {
        // One ordered sequence as the run produced it: by step, and within a step batch, epoch, status, snapshot.
        var ordered = history.Progress.Select(m => (m.Step, Kind: 0, Message: (object)m))
            .Concat(history.Epochs.Select(m => (m.Step, Kind: 1, Message: (object)m)))
            .Concat(history.Statuses.Select(m => (m.Step, Kind: 2, Message: (object)m)))
            .Concat(history.Snapshots.Select(m => (m.Step, Kind: 3, Message: (object)m)))
            .OrderBy(e => e.Step).ThenBy(e => e.Kind).Select(e => e.Message).ToList();
        var lastProgress = ordered.OfType<ProgressMessage>().LastOrDefault();
        foreach (var message in ordered) Apply(message, latest: ReferenceEquals(message, lastProgress));
    }

    /// <summary>Takes one message unless already seen; only the latest progress of a replay redraws the bar.</summary>
    private void Apply(object message, bool latest)
    {
        switch (message)
        {
            case ProgressMessage p when p.Step > lastStep:
                lastStep = p.Step;
                if (latest)
                    progress.Report(p.TotalSteps == 0 ? 0 : (double)p.Step / p.TotalSteps,
                        $"epoch {p.Epoch + 1} step {p.Step}/{p.TotalSteps} loss {p.Loss:F3} acc {p.Accuracy:P0} {p.ImagesPerSecond:F0} img/s");
                break;
            case EpochMessage e when epochsSeen.Add(e.Epoch):
                lastStep = Math.Max(lastStep, e.Step);
                bestSeen = Math.Max(bestSeen ?? 0, e.ValidationAccuracy);
                progress.Message($"epoch {e.Epoch + 1}: validation accuracy {e.ValidationAccuracy:P2}, loss {e.ValidationLoss:F3}{(e.IsBest ? " (best so far)" : "")}");
                break;
            case StatusMessage s when statusesSeen.Add((s.Step, s.Status)):
                if (s.Status != "Running") progress.Message($"run {s.Status.ToLowerInvariant()}{(s.Message is null ? "" : ": " + s.Message)}");
                if (IsEnd(s.Status)) endStatus ??= s.Status;
                break;
            case SnapshotMessage snapshot:
                snapshotsSeen.Add((snapshot.Step, snapshot.ProbeIndex));
                break;
        }
    }

    /// <summary>Interrupted ends the watch too: the app restarted without resuming the run, and only a trainer's Resume goes on.</summary>
    private static bool IsEnd(string status) => status is "Completed" or "Stopped" or "Failed" or "Interrupted";

    private sealed class Resync
    {
        public static readonly Resync Instance = new();
    }

    // The hub's messages as this client reads them: only the fields it uses. A client needs no
    // reference to the server's assembly; unknown fields are ignored.
    private sealed record ProgressMessage(long Step, int Epoch, long TotalSteps, double Loss, double Accuracy, double ImagesPerSecond);
    private sealed record EpochMessage(long Step, int Epoch, double ValidationAccuracy, double ValidationLoss, bool IsBest);
    private sealed record StatusMessage(long Step, string Status, string? Message);
    private sealed record SnapshotMessage(long Step, int ProbeIndex, string TrueClassMapUrl);
    private sealed record RunSummaryMessage(string RunId, string Status, bool Live, long Steps, double? BestAccuracy);
    private sealed record RunHistoryMessage(
        IReadOnlyList<ProgressMessage> Progress, IReadOnlyList<EpochMessage> Epochs,
        IReadOnlyList<StatusMessage> Statuses, IReadOnlyList<SnapshotMessage> Snapshots);
}
