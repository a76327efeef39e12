using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Imaging;

namespace RetailCam.Cli.Commands;

/// <summary>
/// retailcam fuzz [--iterations N] [--seed S] [--url URL --token T] [--json]: mutated JPEG, PNG, GIF,
/// WebP, BMP and TIFF files through the safe decoder (as the app configures it), or with --url through
/// a running app's POST /api/predict; exits 1 when anything crashed (an exception other than a refusal,
/// or a 5xx answer).
/// </summary>
internal static class FuzzCommand
{
    private const int FilesPerRequest = 10;

    public static Command Create()
    {
        var iterations = new Option<int>("--iterations") { Description = "How many mutants.", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the mutations (the same seed gives the same mutants).", DefaultValueFactory = _ => 1 };
        var url = new Option<string?>("--url") { Description = "Send the mutants to this app's POST /api/predict instead, 10 to a request." };
        var accessToken = RemoteApp.TokenOption("With --url: ");
        var host = new CliHost();
        var json = CliRunner.JsonOption();
        var command = new Command("fuzz", "Feed mutated image files to the decoder or to a running app's predict endpoint; report crashes, the slowest decode and the memory used.")
        {
            iterations, seed, url, accessToken, json,
        };
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            var count = parse.GetValue(iterations);
            if (count < 1) throw new ArgumentException("--iterations must be 1 or more.");
            var progress = new CliProgress();
            object report;
            bool crashed;
            try
            {
                if (parse.GetValue(url) is { } address)
                {
                    var endpoint = await FuzzEndpointAsync(RemoteApp.Address(address), RemoteApp.Token(parse, accessToken),
                        count, parse.GetValue(seed), done => progress.Report((double)done / count, $"fuzz {done}/{count}"), token);
                    (report, crashed) = (endpoint, endpoint.ServerErrors > 0 || !endpoint.AliveAfter);
                }
                else
                {
                    using var engine = host.Build(parse);
                    var decoder = engine.Services.GetRequiredService<ImageFileDecoder>();
                    var decoded = DecoderFuzzer.Run(decoder, count, parse.GetValue(seed), done => progress.Report((double)done / count, $"fuzz {done}/{count}"), token);
                    (report, crashed) = (decoded, decoded.Crashes > 0);
                }
            }
            finally
            {
                progress.Done();
            }
            if (parse.GetValue(json)) CliRunner.WriteJson(report);
            else Console.WriteLine(report switch
            {
                FuzzReport r => $"{r.Iterations} mutants: {r.Decoded} decoded, refused {string.Join(", ", r.Refused.Select(kv => $"{kv.Key} {kv.Value}"))}, {r.Crashes} crashes; "
                    + $"slowest decode {r.MaxDecodeMilliseconds} ms ({r.SlowestCase}); memory +{r.PeakWorkingSetGrowthBytes / 1e6:F0} MB (budget {r.MemoryBudgetBytes / 1e6:F0} MB); {r.Seconds} s",
                EndpointFuzzReport e => $"{e.Iterations} mutants in {e.Requests} requests: {string.Join(", ", e.Statuses.Select(kv => $"{kv.Key} ×{kv.Value}"))}; "
                    + $"{e.ServerErrors} server errors; slowest request {e.MaxRequestMilliseconds} ms; {(e.AliveAfter ? "alive" : "NOT answering")} after; {e.Seconds} s",
                _ => report.ToString(),
            });
            return crashed ? 1 : 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>What the predict endpoint answered to the mutants.</summary>
    internal sealed record EndpointFuzzReport(int Iterations, int Requests, IReadOnlyDictionary<int, int> Statuses, int ServerErrors, double MaxRequestMilliseconds, bool AliveAfter, double Seconds);

    private static async Task<EndpointFuzzReport> FuzzEndpointAsync(Uri server, string? accessToken, int count, int seed, Action<int> progress, CancellationToken cancellationToken)
    {
        using var client = RemoteApp.Client(server, accessToken, TimeSpan.FromMinutes(2));
        var statuses = new SortedDictionary<int, int>();
        double slowest = 0;
        var requests = 0;
        var clock = Stopwatch.StartNew();
        var sent = 0;
        foreach (var batch in DecoderFuzzer.Mutants(count, seed).Chunk(FilesPerRequest))
        {
            using var form = RemoteApp.PredictForm(batch.Select(m => (m.FileName, m.Bytes)));
            sent += batch.Length;
            var watch = Stopwatch.StartNew();
            using var response = await client.PostAsync("api/predict", form, cancellationToken);
            slowest = Math.Max(slowest, watch.Elapsed.TotalMilliseconds);
            requests++;
            if ((int)response.StatusCode is 401 or 403) throw RemoteApp.Refused(server, accessToken, (int)response.StatusCode);
            statuses[(int)response.StatusCode] = statuses.GetValueOrDefault((int)response.StatusCode) + 1;
            // The predict limit asks to come back later: do so rather than count it against the server.
            if (response.Headers.RetryAfter?.Delta is { } wait) await Task.Delay(wait, cancellationToken);
            progress(sent);
        }
        var alive = (await client.GetAsync("healthz", cancellationToken)).IsSuccessStatusCode;
        return new EndpointFuzzReport(count, requests, statuses, statuses.Where(s => s.Key >= 500 && s.Key != 503).Sum(s => s.Value), Math.Round(slowest, 1), alive, Math.Round(clock.Elapsed.TotalSeconds, 1));
    }
}
