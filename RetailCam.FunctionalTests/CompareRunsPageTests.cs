using System.Net.Http.Json;
using Microsoft.Playwright;
using RetailCam.Tests.Support;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>Two runs of one dataset chosen on the Runs page and compared: curves overlaid, per-class accuracy with the difference, settings diffed.</summary>
[Collection(WebCollection.Name)]
public class CompareRunsPageTests(WebAppFixture app, BrowserFixture browser)
{
    private static async Task<string> TrainAsync(HttpClient client, string dataset, int epochs)
    {
        var id = (await Json(await client.PostAsJsonAsync("/api/runs", new { dataset, epochs, batchSize = 16, imageSize = 32, minutes = 0, snapshotEvery = 0, probes = 0 })))
            .GetProperty("id").GetString()!;
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while ((await Json(await client.GetAsync($"/api/runs/{id}"))) is var run && (run.GetProperty("live").GetBoolean() || run.GetProperty("status").GetString() != "Completed"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"run {id} did not complete: {run}");
            await Task.Delay(500);
        }
        return id;
    }

    [Fact]
    public async Task Two_runs_chosen_on_the_runs_page_are_compared_curve_by_curve_class_by_class_and_setting_by_setting()
    {
        using var client = app.CreateClient();
        var tree = Path.Combine(app.DataRoot, $"shapes-compare-{Guid.NewGuid():N}");
        new SyntheticShapes(60, 32, seed: 51).WritePngTree(tree);
        var dataset = (await Json(await client.PostAsJsonAsync("/api/datasets", new { name = "Shapes compared", folder = Path.GetFileName(tree) }))).GetProperty("id").GetString()!;
        var first = await TrainAsync(client, dataset, epochs: 1);
        var second = await TrainAsync(client, dataset, epochs: 2);

        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        await page.GotoAsync(new Uri(app.BaseAddress, "runs").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        foreach (var id in new[] { first, second })
            await page.Locator("tr").Filter(new LocatorFilterOptions { HasText = id }).Locator("input[type=checkbox]").CheckAsync();
        await page.GetByTestId("compare-runs").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/runs/compare\\?ids="));

        await Assertions.Expect(page.GetByTestId("compare-per-class").Locator("tbody tr")).ToHaveCountAsync(SyntheticShapes.Categories.Length, new LocatorAssertionsToHaveCountOptions { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("setting-differs").Filter(new LocatorFilterOptions { HasText = "epochs" })).ToHaveCountAsync(1);
        Assert.Equal(0, await page.GetByTestId("setting-differs").Filter(new LocatorFilterOptions { HasText = "datasetVersion" }).CountAsync());
        await page.WaitForFunctionAsync("() => { const c = document.getElementById('compare-accuracy'); return c && c.data && c.data.length === 2; }", null,
            new PageWaitForFunctionOptions { Timeout = 30_000 });
        var points = await page.EvaluateAsync<int[]>("() => document.getElementById('compare-accuracy').data.map(t => t.x.length)");
        Assert.Equal([1, 2], points);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "compare-runs.png"), FullPage = true });

        // A labelled box set: photos of a red square with its box, evaluated from the Runs page.
        var boxSet = Path.Combine(app.DataRoot, $"boxes-{Guid.NewGuid():N}");
        Directory.CreateDirectory(boxSet);
        var rows = new List<string> { "file,category,x_min,y_min,x_max,y_max" };
        for (var i = 0; i < 3; i++)
        {
            File.Copy(TestPhotos.Good($"{Guid.NewGuid():N}.png", 60 + i), Path.Combine(boxSet, $"scene-{i}.png"));
            rows.Add($"scene-{i}.png,Shapes/Red square,51,31,110,95");
        }
        await File.WriteAllLinesAsync(Path.Combine(boxSet, "boxes.csv"), rows);
        await page.GotoAsync(new Uri(app.BaseAddress, "runs").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        var row = page.Locator("tr").Filter(new LocatorFilterOptions { HasText = second });
        await row.GetByTestId("run-evaluate-boxes").ClickAsync();
        await page.Locator("input[data-testid=path-prompt-input], [data-testid=path-prompt-input] input").First.FillAsync(Path.GetFileName(boxSet));
        await page.GetByTestId("path-prompt-ok").ClickAsync();
        await Assertions.Expect(page.Locator(".mud-snackbar")).ToContainTextAsync("MaxBoxAcc", new LocatorAssertionsToContainTextOptions { Timeout = 120_000 });
        var stored = await Json(await client.GetAsync("/api/runs"));
        Assert.Contains(stored.EnumerateArray(), r => r.GetProperty("runId").GetString() == second);
        await Assertions.Expect(row.Locator("td").Nth(6)).ToContainTextAsync("%");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "runs-maxboxacc.png"), FullPage = true });
    }
}
