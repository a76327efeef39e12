using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>What the server does against strangers' tricks: headers, limits, and nothing broken by them.</summary>
[Collection(WebCollection.Name)]
public class HardeningTests(WebAppFixture app, BrowserFixture browser)
{
    [Theory]
    [InlineData("/account/login")]
    [InlineData("/healthz")]
    [InlineData("/healthz/ready")]
    [InlineData("/metrics")]
    [InlineData("/api/models")]
    public async Task Every_answer_carries_the_security_headers(string path)
    {
        using var client = app.CreateClient();
        using var response = await client.GetAsync(path);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
    }

    [Fact]
    public async Task The_pages_work_under_the_content_security_policy()
    {
        var violations = new List<string>();
        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) violations.Add($"{page.Url}: {message.Text}");
        };
        foreach (var path in new[] { "", "runs", "datasets", "review", "history", "compare", "admin/users" })
            await PageControls.GoToAsync(page, app.BaseAddress, path);
        await PageControls.GoToAsync(page, app.BaseAddress, "predict");
        await page.Locator("input[type=file]").SetInputFilesAsync(TestPhotos.Good("csp.png", 12));
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('[data-testid=heatmap]'); return i && i.complete && i.naturalWidth > 0; }",
            null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [Fact]
    public async Task More_photos_than_one_request_may_carry_get_413()
    {
        using var client = app.CreateClient();
        using var form = new MultipartFormDataContent();
        var bytes = await File.ReadAllBytesAsync(TestPhotos.Good("many.png", 13));
        for (var i = 0; i < 51; i++)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(content, "images", $"copy-{i}.png");
        }
        using var response = await client.PostAsync("/api/predict", form);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("at most 50", (await Json(response)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_json_body_over_a_megabyte_gets_413_before_anything_starts()
    {
        using var client = app.CreateClient();
        var before = (await Json(await client.GetAsync("/api/runs"))).GetArrayLength();
        var padding = new string('x', 2_000_000);
        using var response = await client.PostAsync("/api/runs", new StringContent($"{{\"dataset\": \"{padding}\"}}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(before, (await Json(await client.GetAsync("/api/runs"))).GetArrayLength());
    }

    [Fact]
    public async Task An_api_error_tells_no_paths_or_exception_text()
    {
        using var client = app.CreateClient();
        using var response = await client.GetAsync("/api/runs/" + Uri.EscapeDataString("../../etc/passwd") + "/events");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{response.StatusCode}");
        Assert.DoesNotContain(app.DataRoot, text);
        Assert.DoesNotContain("   at ", text);
    }
}

/// <summary>Prediction's limits on an app of their own, set low enough to reach: 429 per member, 503 when everyone's slots are taken.</summary>
[Collection(WebCollection.Name)]
public sealed class PredictionLimitTests
{
    private static MultipartFormDataContent Photo(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return new MultipartFormDataContent { { content, "images", "limited.png" } };
    }

    [Fact]
    public async Task Too_many_requests_get_429_or_503_with_retry_after_and_the_server_keeps_answering()
    {
        await using var app = new PrivateWebApp(tinyModel: true,
            ("RetailCam:Limits:PredictRequestsPerSecond", "1"), ("RetailCam:Limits:PredictBurst", "3"),
            ("RetailCam:Limits:PredictConcurrency", "1"), ("RetailCam:Limits:PredictQueue", "0"));
        using var client = await app.ClientOfNewMemberAsync("limited", RetailCam.Storage.Accounts.TeamRoles.Viewer);
        var bytes = await File.ReadAllBytesAsync(TestPhotos.Good("limited.png", 14));
        // Ten at once: one slot and no queue, so some find the server busy; together they also spend the member's burst.
        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.PostAsync("/api/predict", Photo(bytes))));
        var statuses = answers.Select(a => (int)a.StatusCode).ToList();
        Assert.Contains(200, statuses);
        Assert.All(statuses, s => Assert.Contains(s, new[] { 200, 429, 503 }));
        Assert.Contains(statuses, s => s is 429 or 503);
        foreach (var refused in answers.Where(a => a.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable))
        {
            Assert.True(refused.Headers.RetryAfter is not null, "a refusal says when to come back");
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }
        // One after the other, past the burst: the member is told to slow down.
        var sequential = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++) sequential.Add((await client.PostAsync("/api/predict", Photo(bytes))).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, sequential);
        // And after waiting as told, it answers again.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/predict", Photo(bytes))).StatusCode);
    }

    [Fact]
    public async Task Hundreds_of_mutated_photos_through_the_predict_endpoint_get_answers_below_500_and_the_server_lives_on()
    {
        await using var app = new PrivateWebApp(tinyModel: true);
        using var client = await app.ClientOfNewMemberAsync("fuzzer", RetailCam.Storage.Accounts.TeamRoles.Viewer);
        var statuses = new List<int>();
        var request = 0;
        foreach (var batch in RetailCam.Engine.Imaging.DecoderFuzzer.Mutants(300, seed: 21).Chunk(10))
        {
            using var form = new MultipartFormDataContent();
            foreach (var (_, fileName, bytes) in batch)
            {
                var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                form.Add(content, "images", fileName);
            }
            using var response = await client.PostAsync("/api/predict", form);
            statuses.Add((int)response.StatusCode);
            Assert.True((int)response.StatusCode < 500, $"request {request}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            request++;
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        Assert.Contains(200, statuses);
    }
}
