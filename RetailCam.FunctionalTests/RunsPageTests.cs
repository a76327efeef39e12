using System.Net.Http.Json;
using Microsoft.Playwright;
using RetailCam.Tests.Support;

using static RetailCam.FunctionalTests.PageControls;

namespace RetailCam.FunctionalTests;

[Collection(WebCollection.Name)]
public class RunsPageTests(WebAppFixture app, BrowserFixture browser)
{
    /// <summary>A small dataset of coloured shapes as a folder tree of PNGs under the app's data folder.</summary>
    private string WriteShapesDataset()
    {
        var root = Path.Combine(app.DataRoot, "shapes");
        new SyntheticShapes(72, 32, seed: 31).WritePngTree(root);
        return root;
    }

    [Fact]
    public async Task A_run_started_in_the_page_shows_growing_curves_and_a_filmstrip_that_changes_and_a_late_viewer_sees_the_same_history()
    {
        WriteShapesDataset();
        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        await page.GotoAsync(new Uri(app.BaseAddress, "runs").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        await page.GetByTestId("new-run").ClickAsync();
        await page.GetByTestId("new-run-dialog").WaitForAsync();
        await Input(page, "new-run-folder").FillAsync("shapes");
        await Input(page, "new-run-epochs").FillAsync("8");
        await Input(page, "new-run-batch").FillAsync("16");
        await Input(page, "new-run-size").FillAsync("32");
        await Input(page, "new-run-snapshot-every").FillAsync("2");
        await Input(page, "new-run-probes").FillAsync("3");
        // The form's values reach the server on change; see them settled before starting.
        await Input(page, "new-run-probes").BlurAsync();
        await Assertions.Expect(Input(page, "new-run-folder")).ToHaveValueAsync("shapes");
        await Assertions.Expect(Input(page, "new-run-epochs")).ToHaveValueAsync("8");
        await page.GetByTestId("new-run-start").ClickAsync();
        // Blazor navigates in the page (history.pushState): poll the address rather than wait for a load event,
        // which a client-side navigation may never fire (WaitForURL then hangs although the address matches).
        try
        {
            await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/runs/2[^/]*$"), new PageAssertionsToHaveURLOptions { Timeout = 60_000 });
        }
        catch (PlaywrightException)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "new-run-not-started.png"), FullPage = true });
            var error = page.GetByTestId("new-run-error");
            var shown = await error.CountAsync() > 0 ? await error.InnerTextAsync() : "(no error shown)";
            throw new Xunit.Sdk.XunitException($"The run monitor did not open (at {page.Url}); the dialog says: {shown}\nserver log:\n{app.ServerLog.Recent()}");
        }
        await page.GetByTestId("run-status").WaitForAsync();

        // The filmstrip shows a map, then a newer one while the run goes on.
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('[data-testid=filmstrip-map]'); return i && i.complete && i.naturalWidth > 0; }",
            null, new PageWaitForFunctionOptions { Timeout = 120_000 });
        var firstMap = await page.GetByTestId("filmstrip-map").First.GetAttributeAsync("src");
        await page.WaitForFunctionAsync("src => { const i = document.querySelector('[data-testid=filmstrip-map]'); return i && i.getAttribute('src') !== src; }",
            firstMap, new PageWaitForFunctionOptions { Timeout = 120_000 });
        Assert.Equal(3, await page.GetByTestId("filmstrip-frame").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "run-monitor-live.png"), FullPage = true });

        await Assertions.Expect(page.GetByTestId("run-status")).ToHaveTextAsync("Completed", new LocatorAssertionsToHaveTextOptions { Timeout = 180_000 });
        await page.WaitForTimeoutAsync(1500);
        var points = await page.EvaluateAsync<int>("() => document.getElementById('loss-chart').data[0].x.length");
        var validationPoints = await page.EvaluateAsync<int>("() => document.getElementById('accuracy-chart').data[1].x.length");
        Assert.True(points >= 16, $"{points} loss points");
        Assert.Equal(8, validationPoints);
        var stepLabel = await page.GetByTestId("filmstrip-step").InnerTextAsync();

        // Scrub back to the first snapshot.
        var slider = page.Locator("input[type=range][data-testid=filmstrip-slider], [data-testid=filmstrip-slider] input[type=range]").First;
        await slider.FocusAsync();
        await page.Keyboard.PressAsync("Home");
        await Assertions.Expect(page.GetByTestId("filmstrip-step")).ToContainTextAsync("step 0 (1 of");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "run-monitor.png"), FullPage = true });

        // A second viewer who arrives after the run sees the same history.
        await using var late = await browser.NewContextAsync(app);
        var latePage = await late.NewPageAsync();
        await latePage.GotoAsync(page.Url);
        await Assertions.Expect(latePage.GetByTestId("filmstrip-step")).ToHaveTextAsync(stepLabel, new LocatorAssertionsToHaveTextOptions { Timeout = 60_000 });
        await latePage.WaitForFunctionAsync("() => document.getElementById('loss-chart') && document.getElementById('loss-chart').data");
        var liveX = await page.EvaluateAsync<string>("() => JSON.stringify(document.getElementById('loss-chart').data[0].x)");
        var lateX = await latePage.EvaluateAsync<string>("() => JSON.stringify(document.getElementById('loss-chart').data[0].x)");
        Assert.Equal(liveX, lateX);

        await page.GotoAsync(new Uri(app.BaseAddress, "runs").ToString());
        await page.GetByTestId("run-link").First.WaitForAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "runs.png"), FullPage = true });
    }

    [Fact]
    public async Task A_stopped_run_goes_on_from_its_checkpoint_with_the_monitors_resume_button()
    {
        new SyntheticShapes(72, 32, seed: 37).WritePngTree(Path.Combine(app.DataRoot, "shapes-resume"));
        using var client = app.CreateClient(RetailCam.Storage.Accounts.TeamRoles.Trainer);
        var dataset = (await HttpJson.Json(await client.PostAsJsonAsync("/api/datasets", new { name = "Shapes to resume", folder = "shapes-resume" }))).GetProperty("id").GetString()!;
        var runId = (await HttpJson.Json(await client.PostAsJsonAsync("/api/runs", new { dataset, epochs = 6, batchSize = 16, imageSize = 32, minutes = 0, snapshotEvery = 0, probes = 0 })))
            .GetProperty("id").GetString()!;
        var checkpoint = new RetailCam.Engine.Layout.DataRootLayout(app.DataRoot).Run(runId).CheckpointFolder;
        async Task<System.Text.Json.JsonElement> RunAsync() => await HttpJson.Json(await client.GetAsync($"/api/runs/{runId}"));
        for (var deadline = DateTime.UtcNow.AddMinutes(3); RetailCam.Engine.Training.Checkpoint.Find(checkpoint) is null; await Task.Delay(100))
            Assert.True(DateTime.UtcNow < deadline, "no checkpoint within 3 minutes");
        await client.PostAsync($"/api/runs/{runId}/stop", null);
        for (var deadline = DateTime.UtcNow.AddMinutes(2); (await RunAsync()) is var run && (run.GetProperty("live").GetBoolean() || run.GetProperty("status").GetString() != "Stopped"); await Task.Delay(200))
            Assert.True(DateTime.UtcNow < deadline, "the run did not stop within 2 minutes");
        var stoppedAt = (await RunAsync()).GetProperty("step").GetInt64();

        var page = await browser.NewPageAsync(app);
        await page.GotoAsync(new Uri(app.BaseAddress, $"runs/{runId}").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("run-status")).ToHaveTextAsync("Stopped");
        await page.GetByTestId("run-continue").ClickAsync();

        await Assertions.Expect(page.GetByTestId("run-status")).ToHaveTextAsync("Completed", new LocatorAssertionsToHaveTextOptions { Timeout = 180_000 });
        var statuses = new RetailCam.Engine.Training.RunFolder(new RetailCam.Engine.Layout.DataRootLayout(app.DataRoot).Run(runId)).ReadEvents()
            .OfType<RetailCam.Engine.Training.StatusChanged>().ToList();
        Assert.Contains(statuses, s => s.Status == RetailCam.Engine.Training.RunStatus.Running && s.Step == stoppedAt && s.Message == $"resumed at step {stoppedAt}");
        var steps = new RetailCam.Engine.Training.RunFolder(new RetailCam.Engine.Layout.DataRootLayout(app.DataRoot).Run(runId)).ReadEvents()
            .OfType<RetailCam.Engine.Training.BatchEnded>().Select(b => b.Step).ToList();
        Assert.Equal(Enumerable.Range(1, steps.Count).Select(i => (long)i), steps);
    }
}
