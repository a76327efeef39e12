using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using RetailCam.Tests.Support;
using RetailCam.Web.Services;

using static RetailCam.FunctionalTests.PageControls;

namespace RetailCam.FunctionalTests;

/// <summary>
/// The catalogue team's whole loop in one browser session, as a member who never sees the server's disk:
/// build a dataset from photos on their machine, check its health, train, predict a new photo, correct and
/// file it, retrain, and tell the two runs apart.
/// </summary>
[Collection(WebCollection.Name)]
public class CatalogueLoopTests(WebAppFixture app, BrowserFixture browser)
{
    private static ILocator Category(IPage page, string path) => page.Locator($"[data-testid=category-item][data-path='{path}']");

    private static Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, name), FullPage = true });

    /// <summary>Opens the dataset's Train dialog, starts a tiny run, and waits on its monitor until it completes; returns the run id.</summary>
    private async Task<string> TrainTinyRunAsync(IPage page, string datasetUrl)
    {
        await GoToAsync(page, app.BaseAddress, datasetUrl);
        await page.GetByTestId("dataset-train").ClickAsync();
        await Assertions.Expect(page.GetByTestId("new-run-dataset")).ToContainTextAsync("Loop shapes");
        await Input(page, "new-run-epochs").FillAsync("2");
        await Input(page, "new-run-batch").FillAsync("16");
        await Input(page, "new-run-size").FillAsync("32");
        await Input(page, "new-run-minutes").FillAsync("0");
        await Input(page, "new-run-probes").FillAsync("0");
        await Input(page, "new-run-probes").BlurAsync();
        await Assertions.Expect(Input(page, "new-run-epochs")).ToHaveValueAsync("2");
        await ShotAsync(page, "loop-train-dialog.png");
        await page.GetByTestId("new-run-start").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/runs/[^/]+$"), new PageAssertionsToHaveURLOptions { Timeout = 60_000 });
        var id = new Uri(page.Url).Segments[^1];
        await Assertions.Expect(page.GetByTestId("run-status")).ToHaveTextAsync("Completed", new LocatorAssertionsToHaveTextOptions { Timeout = 300_000 });
        // Then serving is tuned: the model is ready when the monitor stops saying so.
        await Assertions.Expect(page.GetByTestId("run-finishing")).ToHaveCountAsync(0, new LocatorAssertionsToHaveCountOptions { Timeout = 300_000 });
        return id;
    }

    [Fact]
    public async Task A_team_member_builds_a_dataset_trains_predicts_corrects_files_and_retrains_all_in_the_browser()
    {
        // The member's own machine: a folder of pack-shots per category, and one file that is not a photo.
        var machine = Path.Combine(TestPhotos.Folder, $"member-{Guid.NewGuid():N}");
        new SyntheticShapes(36, 32, seed: 57).WritePngTree(machine, prefix: "shot-");
        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1360, Height = 1000 } });
        // The run monitor and the comparison draw Plotly charts: none may need what the content security policy forbids.
        var violations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) violations.Add($"{page.Url}: {message.Text}");
        };
        try
        {
            await GoToAsync(page, app.BaseAddress, "datasets");
            await Input(page, "dataset-name").FillAsync("Loop shapes");
            await page.GetByTestId("dataset-create").ClickAsync();
            await Assertions.Expect(page.GetByTestId("dataset-title")).ToHaveTextAsync("Loop shapes", new LocatorAssertionsToHaveTextOptions { Timeout = 30_000 });
            var datasetUrl = new Uri(page.Url).AbsolutePath.TrimStart('/');
            var datasetId = new Uri(page.Url).Segments[^1];

            // Three categories, each filled by dropping its photos; the bad file is reported and the rest kept.
            foreach (var category in SyntheticShapes.Categories)
            {
                await Input(page, "category-name").FillAsync(category);
                await page.GetByTestId("category-add").ClickAsync();
                await Category(page, category).ClickAsync();
                var photos = Directory.GetFiles(Path.Combine(machine, category), "*.png").Order(StringComparer.Ordinal).ToList();
                if (category == SyntheticShapes.Categories[0]) photos.Add(TestPhotos.TruncatedPng());
                await page.Locator("input[type=file]").Last.SetInputFilesAsync(photos);
                await Assertions.Expect(Category(page, category)).ToContainTextAsync("12", new LocatorAssertionsToContainTextOptions { Timeout = 30_000 });
                if (category == SyntheticShapes.Categories[0])
                    await Assertions.Expect(page.GetByTestId("upload-refused")).ToContainTextAsync(Path.GetFileName(TestPhotos.TruncatedPng()));
            }

            // A photo filed twice under different paths is a labelling error the health check names.
            var planted = Directory.GetFiles(Path.Combine(machine, SyntheticShapes.Categories[0]), "*.png").Order(StringComparer.Ordinal).First();
            await Category(page, SyntheticShapes.Categories[1]).ClickAsync();
            await page.Locator("input[type=file]").Last.SetInputFilesAsync(planted);
            await Assertions.Expect(Category(page, SyntheticShapes.Categories[1])).ToContainTextAsync("13", new LocatorAssertionsToContainTextOptions { Timeout = 30_000 });
            await page.GetByTestId("health-check").ClickAsync();
            var duplicate = page.GetByTestId("health-duplicate").Filter(new LocatorFilterOptions { HasText = Path.GetFileName(planted) });
            await Assertions.Expect(duplicate).ToContainTextAsync(SyntheticShapes.Categories[0], new LocatorAssertionsToContainTextOptions { Timeout = 30_000 });
            await Assertions.Expect(duplicate).ToContainTextAsync(SyntheticShapes.Categories[1]);
            await ShotAsync(page, "loop-dataset-health.png");

            var firstRun = await TrainTinyRunAsync(page, datasetUrl);
            await ShotAsync(page, "loop-first-run.png");

            // A new photo, predicted by the model just trained, corrected to another category and filed.
            var newPhoto = Path.Combine(TestPhotos.Folder, $"new-arrival-{Guid.NewGuid():N}.png");
            var arrivals = Path.Combine(TestPhotos.Folder, $"arrivals-{Guid.NewGuid():N}");
            new SyntheticShapes(3, 32, seed: 58).WritePngTree(arrivals);
            File.Copy(Directory.GetFiles(Path.Combine(arrivals, SyntheticShapes.Categories[1])).Single(), newPhoto);
            await GoToAsync(page, app.BaseAddress, $"predict?model={Uri.EscapeDataString($"run:{firstRun}")}");
            await Assertions.Expect(page.GetByTestId("model-picker")).ToContainTextAsync(firstRun, new LocatorAssertionsToContainTextOptions { Timeout = 30_000 });
            await page.Locator("input[type=file]").Last.SetInputFilesAsync(newPhoto);
            var card = page.GetByTestId("result-card").First;
            await card.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
            await ChooseAsync(page, card.GetByTestId("file-dataset"), "Loop shapes");
            await Assertions.Expect(card.GetByTestId("file-button")).ToBeEnabledAsync(new LocatorAssertionsToBeEnabledOptions { Timeout = 30_000 });
            var preselected = (await card.GetByTestId("file-category").InnerTextAsync()).Replace("File under", "", StringComparison.Ordinal).Trim().Replace(" › ", "/", StringComparison.Ordinal);
            Assert.Contains(preselected, SyntheticShapes.Categories);
            // The member's correction: the photo's own category when the model missed it, else another one.
            var corrected = preselected != SyntheticShapes.Categories[1] ? SyntheticShapes.Categories[1] : SyntheticShapes.Categories[2];
            await ChooseAsync(page, card.GetByTestId("file-category"), corrected.Replace("/", " › ", StringComparison.Ordinal));
            await card.GetByTestId("file-button").ClickAsync();
            await Assertions.Expect(card.GetByTestId("filed")).ToContainTextAsync($"Filed under {corrected.Replace("/", " › ", StringComparison.Ordinal)} as");
            var filedText = await card.GetByTestId("filed").InnerTextAsync();
            var filedName = filedText[(filedText.LastIndexOf(" as ", StringComparison.Ordinal) + 4)..].TrimEnd('.');
            await ShotAsync(page, "loop-predict-filed.png");

            // The filed photo is in the dataset, in the corrected category.
            await GoToAsync(page, app.BaseAddress, datasetUrl);
            await Category(page, corrected).ClickAsync();
            await Assertions.Expect(page.GetByTestId("photo-tile").Filter(new LocatorFilterOptions { HasText = filedName })).ToHaveCountAsync(1, new LocatorAssertionsToHaveCountOptions { Timeout = 30_000 });

            // The next run trains on it, and the comparison of the two runs says so.
            var secondRun = await TrainTinyRunAsync(page, datasetUrl);
            await GoToAsync(page, app.BaseAddress, $"runs/compare?ids={firstRun},{secondRun}");
            var change = page.GetByTestId("compare-settings").Locator("tr").Filter(new LocatorFilterOptions { HasText = "datasetSinceFirst" });
            await Assertions.Expect(change).ToContainTextAsync($"+1 ({corrected}/{filedName})", new LocatorAssertionsToContainTextOptions { Timeout = 30_000 });
            await Assertions.Expect(page.GetByTestId("compare-settings").Locator("tr").Filter(new LocatorFilterOptions { HasText = "datasetVersion" })).ToHaveAttributeAsync("data-testid", "setting-differs");
            await ShotAsync(page, "loop-compare.png");

            using (var client = app.CreateClient())
            {
                var recorded = await HttpJson.Json(await client.GetAsync($"/api/runs/{firstRun}"));
                Assert.Equal(datasetId, recorded.GetProperty("dataset").GetString());
                Assert.True(recorded.GetProperty("datasetVersion").GetString()?.Length == 64, recorded.ToString() + "\n" + app.ServerLog.Recent(20));
            }
            var manifest = Engine.Data.DatasetManifest.Load(Path.Combine(app.DataRoot, "runs", secondRun, Engine.Data.DatasetManifest.FileName))!;
            Assert.Contains(manifest.Entries, e => e.Path == $"{corrected}/{filedName}");
            Assert.Equal(3 * 12 + 1 + 1, manifest.Files);
            Assert.NotNull(await app.Services.GetRequiredService<Storage.DatasetRegistry>().FindAsync(datasetId));
            Assert.True(violations.Count == 0, string.Join("\n", violations));
        }
        finally
        {
            // Other tests expect the fixture's tiny model to serve.
            await app.Services.GetRequiredService<PredictionService>().EnsureModelAsync("model:tiny");
            await page.CloseAsync();
        }
    }
}
