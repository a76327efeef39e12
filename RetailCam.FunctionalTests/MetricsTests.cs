using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using RetailCam.Storage.Accounts;
using RetailCam.Tests.Support;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>/metrics in the Prometheus text format: what it shows as the app trains and predicts, and who may read it.</summary>
[Collection(WebCollection.Name)]
public class MetricsTests(WebAppFixture app)
{
    private static async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Scrapes until <paramref name="done"/> holds (answers are cached for a moment), or returns the last scrape at the deadline.</summary>
    private static async Task<IReadOnlyList<PrometheusSample>> ScrapeUntilAsync(HttpClient client, Func<IReadOnlyList<PrometheusSample>, bool> done)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var samples = await ScrapeAsync(client);
            if (done(samples) || DateTime.UtcNow > deadline) return samples;
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_training_run_shows_its_step_moving_and_its_throughput_while_it_trains()
    {
        using var client = app.CreateClient(TeamRoles.Trainer);
        var tree = Path.Combine(app.DataRoot, $"shapes-metrics-{Guid.NewGuid():N}");
        new SyntheticShapes(60, 32, seed: 51).WritePngTree(tree);
        var dataset = (await Json(await client.PostAsJsonAsync("/api/datasets", new { name = "Shapes for metrics", folder = Path.GetFileName(tree) }))).GetProperty("id").GetString()!;
        // Far more epochs than the test waits for: it is stopped once the step has moved.
        var run = (await Json(await client.PostAsJsonAsync("/api/runs", new { dataset, epochs = 200, batchSize = 8, imageSize = 32, minutes = 0, snapshotEvery = 0, probes = 0 })))
            .GetProperty("id").GetString()!;
        try
        {
            var first = await ScrapeUntilAsync(client, s => s.Sum("retailcam_training_step", ("run", run)) >= 1);
            var step = first.Sum("retailcam_training_step", ("run", run));
            Assert.True(step >= 1, $"the run's step gauge never showed; last scrape had {string.Join(", ", first.Select(s => s.Name).Distinct().Where(n => n.StartsWith("retailcam", StringComparison.Ordinal)))}");
            Assert.True(first.Sum("retailcam_training_throughput_per_second", ("run", run)) > 0, "images per second above 0");
            Assert.True(first.Sum("retailcam_training_runs_active") >= 1);
            Assert.Contains(first, s => s.Name == "retailcam_training_loss" && s.Labels.GetValueOrDefault("run") == run && double.IsFinite(s.Value));

            var later = await ScrapeUntilAsync(client, s => s.Sum("retailcam_training_step", ("run", run)) > step);
            Assert.True(later.Sum("retailcam_training_step", ("run", run)) > step, $"step still {step}");
            Assert.True(later.Sum("retailcam_training_images_total") >= later.Sum("retailcam_training_step", ("run", run)), "every step trained at least one image");
        }
        finally
        {
            await client.PostAsync($"/api/runs/{run}/stop", null);
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline && (await Json(await client.GetAsync($"/api/runs/{run}"))).GetProperty("live").GetBoolean())
                await Task.Delay(200);
        }
        // A run that ended leaves the per-run gauges, so their `run` label only ever names live runs.
        var after = await ScrapeUntilAsync(client, s => !s.Any(x => x.Labels.GetValueOrDefault("run") == run));
        Assert.DoesNotContain(after, s => s.Labels.GetValueOrDefault("run") == run);
    }

    [Fact]
    public async Task A_prediction_adds_to_the_latency_histogram_the_photos_counted_and_the_model_loads()
    {
        using var client = app.CreateClient(TeamRoles.Trainer);
        var before = await ScrapeAsync(client);
        var latencies = before.Sum("retailcam_prediction_duration_seconds_count");
        var photos = before.Sum("retailcam_prediction_photos_total");

        var form = new MultipartFormDataContent { { new ByteArrayContent(await File.ReadAllBytesAsync(TestPhotos.Good("metrics.png", 52))), "images", "metrics.png" } };
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/predict", form)).StatusCode);

        var after = await ScrapeUntilAsync(client, s => s.Sum("retailcam_prediction_duration_seconds_count") > latencies);
        Assert.True(after.Sum("retailcam_prediction_duration_seconds_count") >= latencies + 1, "the latency histogram counted the photo");
        Assert.True(after.Sum("retailcam_prediction_photos_total") >= photos + 1);
        Assert.True(after.Sum("retailcam_prediction_duration_seconds_bucket", ("le", "+Inf")) >= latencies + 1);
        Assert.True(after.Sum("retailcam_model_loads_total", ("outcome", "ok")) >= 1, "the served model's load was counted");
        Assert.Contains(after, s => s.Name == "retailcam_prediction_queue_length");
    }

    [Fact]
    public async Task Metrics_are_for_trainers_and_admins_a_viewer_gets_403_and_a_stranger_401()
    {
        using (var stranger = app.CreateAnonymousClient())
        {
            using var response = await stranger.GetAsync("/metrics");
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
            Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
        }
        using (var viewer = app.CreateClient(TeamRoles.Viewer))
            await AssertProblemAsync(await viewer.GetAsync("/metrics"), HttpStatusCode.Forbidden);
        using (var trainer = app.CreateClient(TeamRoles.Trainer))
            Assert.NotEmpty(await ScrapeAsync(trainer));
        using (var admin = app.CreateClient(TeamRoles.Admin))
            Assert.NotEmpty(await ScrapeAsync(admin));
    }

    [Fact]
    public async Task The_configured_scrape_token_reads_metrics_and_nothing_else_and_a_wrong_one_gets_401()
    {
        const string token = "scrape-0123456789abcdef0123456789abcdef";
        await using var scraped = new PrivateWebApp(tinyModel: false, ("RetailCam:Metrics:ScrapeToken", token));
        using var scraper = new HttpClient { BaseAddress = scraped.Address };
        scraper.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Contains(await ScrapeAsync(scraper), s => s.Name == "retailcam_training_runs_active");
        await AssertProblemAsync(await scraper.GetAsync("/api/runs"), HttpStatusCode.Unauthorized);

        // ASP.NET Core's own request histogram, by route; a request is recorded once its answer is sent, a moment after the client has it.
        // (Asked of this app, not the shared one: disposing another app's meter of the same name silences it, opentelemetry-dotnet#6412.)
        Assert.Equal(HttpStatusCode.OK, (await scraper.GetAsync("/healthz/live")).StatusCode);
        var samples = await ScrapeUntilAsync(scraper, s => s.Sum("http_server_request_duration_seconds_count", ("http_route", "/healthz/live")) >= 1);
        Assert.True(samples.Sum("http_server_request_duration_seconds_count", ("http_route", "/healthz/live")) >= 1, "http.server.request.duration by route");

        using var guesser = new HttpClient { BaseAddress = scraped.Address };
        guesser.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token[..^1] + "0");
        await AssertProblemAsync(await guesser.GetAsync("/metrics"), HttpStatusCode.Unauthorized);
    }
}
