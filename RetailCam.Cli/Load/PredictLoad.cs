using System.Diagnostics;
using System.Globalization;
using RetailCam.Cli.Commands;

namespace RetailCam.Cli.Load;

/// <summary>What the clients saw, merged.</summary>
/// <param name="Requests">Requests answered or failed (not those cut off by the end of the window).</param>
/// <param name="Errors">Failed requests by kind: the HTTP status ("429", "503", "500", …), "timeout" or "connection".</param>
/// <param name="LatenciesMs">The latency of every successful request, upload to last byte of the answer.</param>
/// <param name="Unfinished">Requests in flight when the window closed: cancelled, and counted nowhere else.</param>
internal sealed record LoadTally(int Requests, int Succeeded, IReadOnlyDictionary<string, int> Errors, IReadOnlyList<double> LatenciesMs,
    int Unfinished, bool RequestCapReached, TimeSpan Elapsed);

/// <summary>
/// N clients, each sending one predict request after another (a closed loop: a client waits for its
/// answer before it sends again) until the window closes or the request cap is reached. A client told
/// to come back later (429 or 503 with Retry-After) waits as told, as a well-behaved client would, so
/// the figures show what the app's limits give rather than how fast refusals come back.
/// </summary>
internal sealed class PredictLoad(HttpClient client, LoadSettings settings, IReadOnlyList<(string FileName, byte[] Bytes)> photos)
{
    /// <summary>A refused connection fails at once: a short pause keeps a dead server from eating the request cap in a spin.</summary>
    private static readonly TimeSpan ConnectionRetryPause = TimeSpan.FromMilliseconds(200);

    private long tickets;
    private int succeeded;
    private int failed;

    /// <summary>Requests answered with success so far (read while the load runs, for the progress line).</summary>
    public int Succeeded => Volatile.Read(ref succeeded);

    /// <summary>Requests failed so far.</summary>
    public int Failed => Volatile.Read(ref failed);

    public async Task<LoadTally> RunAsync(CancellationToken cancellationToken)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        window.CancelAfter(settings.Duration);
        var clock = Stopwatch.StartNew();
        var clients = await Task.WhenAll(Enumerable.Range(0, settings.Clients).Select(_ => Task.Run(() => ClientAsync(window.Token), CancellationToken.None)));
        var elapsed = clock.Elapsed;
        cancellationToken.ThrowIfCancellationRequested();

        var errors = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (kind, count) in clients.SelectMany(c => c.Errors)) errors[kind] = errors.GetValueOrDefault(kind) + count;
        var latencies = clients.SelectMany(c => c.LatenciesMs).ToList();
        return new LoadTally(latencies.Count + errors.Values.Sum(), latencies.Count, errors, latencies, clients.Sum(c => c.Unfinished),
            Interlocked.Read(ref tickets) > settings.MaxRequests, elapsed);
    }

    private sealed class ClientTally
    {
        public List<double> LatenciesMs { get; } = [];
        public Dictionary<string, int> Errors { get; } = new(StringComparer.Ordinal);
        public int Unfinished { get; set; }
    }

    private async Task<ClientTally> ClientAsync(CancellationToken window)
    {
        var tally = new ClientTally();
        while (!window.IsCancellationRequested)
        {
            var ticket = Interlocked.Increment(ref tickets);
            if (ticket > settings.MaxRequests) break;
            // Successive requests walk through the photos, so every photo is sent about as often.
            var first = (ticket - 1) * settings.PhotosPerRequest;
            using var form = RemoteApp.PredictForm(Enumerable.Range(0, settings.PhotosPerRequest).Select(j => photos[(int)((first + j) % photos.Count)]));
            TimeSpan? pause = null;
            var started = Stopwatch.GetTimestamp();
            try
            {
                // The default completion option reads the whole answer: the latency includes the body.
                using var response = await client.PostAsync("api/predict", form, window);
                if (response.IsSuccessStatusCode)
                {
                    tally.LatenciesMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    Interlocked.Increment(ref succeeded);
                    continue;
                }
                Fail(tally, ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
                pause = response.Headers.RetryAfter?.Delta;
            }
            catch (OperationCanceledException) when (window.IsCancellationRequested)
            {
                tally.Unfinished++;
                break;
            }
            catch (TaskCanceledException)
            {
                // The client's own timeout (the window is still open).
                Fail(tally, "timeout");
            }
            catch (HttpRequestException)
            {
                Fail(tally, "connection");
                pause = ConnectionRetryPause;
            }
            if (pause is { } wait)
            {
                try { await Task.Delay(wait, window); }
                catch (OperationCanceledException) { break; }
            }
        }
        return tally;
    }

    private void Fail(ClientTally tally, string kind)
    {
        tally.Errors[kind] = tally.Errors.GetValueOrDefault(kind) + 1;
        Interlocked.Increment(ref failed);
    }
}
