using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Playwright;
using RetailCam.Storage;
using RetailCam.Tests.Support;

namespace RetailCam.FunctionalTests;

[Collection(WebCollection.Name)]
public class ComparePageTests(WebAppFixture app, BrowserFixture browser)
{
    private async Task<IPage> OpenAsync(string address)
    {
        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        await page.GotoAsync(new Uri(app.BaseAddress, address).ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        return page;
    }

    /// <summary>Waits until the given number of tiles have their summaries and every map image has loaded.</summary>
    private static async Task WaitForTilesAsync(IPage page, int count)
    {
        await page.WaitForFunctionAsync($$"""
            () => {
                const tiles = [...document.querySelectorAll('[data-testid=compare-tile]')];
                return tiles.length === {{count}}
                    && tiles.every(t => t.querySelector('[data-testid=tile-probability]'))
                    && tiles.every(t => { const i = t.querySelector('[data-testid=tile-heatmap]'); return i.complete && i.naturalWidth > 0; });
            }
            """, null, new PageWaitForFunctionOptions { Timeout = 90_000 });
    }

    private static Task<string[]> OverlayOpacitiesAsync(IPage page) =>
        page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('[data-testid=tile-heatmap]')].map(i => getComputedStyle(i).opacity)");

    private static async Task<IReadOnlyList<string>> MapSourcesAsync(IPage page) =>
        await page.GetByTestId("tile-heatmap").EvaluateAllAsync<string[]>("images => images.map(i => i.getAttribute('src'))");

    [Fact]
    public async Task Methods_mode_shows_three_maps_of_one_class_that_differ_by_method_and_one_slider_sets_all_their_opacities()
    {
        var page = await OpenAsync("compare");
        await page.Locator("input[type=file]").SetInputFilesAsync(TestPhotos.Good("compare-shirt.png", 7));

        // Classes first, by default: the serving model's top three categories.
        await WaitForTilesAsync(page, 3);
        Assert.Equal(3, (await page.GetByTestId("compare-tile").EvaluateAllAsync<string[]>("ts => ts.map(t => t.dataset.class)")).Distinct().Count());
        Assert.Contains("compare?photo=", page.Url);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "compare-classes.png"), FullPage = true });

        await page.GetByTestId("mode-methods").ClickAsync();
        await page.Locator("[data-testid=compare-tile][data-method='gradcam++']").WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        await WaitForTilesAsync(page, 3);
        var tiles = page.GetByTestId("compare-tile");
        Assert.Equal(["cam", "gradcam", "gradcam++"], await tiles.EvaluateAllAsync<string[]>("ts => ts.map(t => t.dataset.method)"));
        Assert.Single((await tiles.EvaluateAllAsync<string[]>("ts => ts.map(t => t.dataset.class)")).Distinct());
        var sources = await MapSourcesAsync(page);
        Assert.Equal(3, sources.Distinct().Count());
        Assert.Contains("method=cam&", sources[0]);
        Assert.Contains("method=gradcam&", sources[1]);
        Assert.Contains("method=gradcam%2B%2B&", sources[2]);
        // The probability belongs to the class under the model, not to the way its map is drawn.
        Assert.Single((await page.GetByTestId("tile-probability").AllInnerTextsAsync()).Distinct());

        Assert.All(await OverlayOpacitiesAsync(page), o => Assert.Equal(0.6, double.Parse(o, CultureInfo.InvariantCulture), 3));
        await page.GetByTestId("compare-opacity").FillAsync("0.25");
        await page.WaitForTimeoutAsync(200);
        var after = await OverlayOpacitiesAsync(page);
        Assert.Equal(3, after.Length);
        Assert.All(after, o => Assert.Equal(0.25, double.Parse(o, CultureInfo.InvariantCulture), 3));

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "compare.png"), FullPage = true });
    }

    [Fact]
    public async Task Models_mode_draws_each_tile_with_its_own_model()
    {
        using var client = app.CreateClient();
        // Predicting first fixes the serving model before a second, newer one appears on disk.
        var photo = TestPhotos.Good("compare-models.png", 11);
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(photo));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(content, "images", Path.GetFileName(photo));
        (await client.PostAsync("/api/predict", form)).EnsureSuccessStatusCode();
        var hash = UploadStore.ComputeHash(await File.ReadAllBytesAsync(photo));

        // Same categories in the same order but other weights: were the map drawn by the serving model
        // whatever `model` says, both tiles would ask for the same class and get identical pictures.
        var second = TinyModels.Save(Path.Combine(app.DataRoot, "models", "compare-second"), seed: 41);
        try
        {
            var page = await OpenAsync($"compare?photo={hash}");
            await WaitForTilesAsync(page, 3);
            await page.GetByTestId("mode-models").ClickAsync();
            await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=compare-tile][data-model=\"model:compare-second\"]')", null,
                new PageWaitForFunctionOptions { Timeout = 60_000 });
            await WaitForTilesAsync(page, 2);

            var models = await page.GetByTestId("compare-tile").EvaluateAllAsync<string[]>("ts => ts.map(t => t.dataset.model)");
            Assert.Equal(["model:compare-second", "model:tiny"], models.Order());
            Assert.Single((await page.GetByTestId("compare-tile").EvaluateAllAsync<string[]>("ts => ts.map(t => t.dataset.class)")).Distinct());

            var sources = await MapSourcesAsync(page);
            var maps = new List<byte[]>();
            foreach (var source in sources)
            {
                var response = await page.APIRequest.GetAsync(new Uri(app.BaseAddress, source).ToString());
                Assert.Equal(200, response.Status);
                maps.Add(await response.BodyAsync());
            }
            Assert.NotEqual(maps[0], maps[1]);

            // Each tile's probability is its own model's, as the summary endpoint gives it.
            var shown = await page.GetByTestId("tile-probability").AllInnerTextsAsync();
            for (var i = 0; i < sources.Count; i++)
            {
                var query = sources[i][sources[i].IndexOf('?')..];
                using var summary = JsonDocument.Parse(await client.GetStringAsync($"/api/maps/{hash}.json{query}"));
                Assert.Equal(models[i], summary.RootElement.GetProperty("model").GetString());
                Assert.Equal(summary.RootElement.GetProperty("probability").GetDouble().ToString("0.00", CultureInfo.InvariantCulture), shown[i]);
            }

            Assert.Equal(404, (int)(await client.GetAsync($"/api/maps/{hash}.png?model=model:nowhere&class=0")).StatusCode);
            Assert.Equal(400, (int)(await client.GetAsync($"/api/maps/{hash}.json?model=model:compare-second&class=99")).StatusCode);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "compare-models.png"), FullPage = true });
        }
        finally
        {
            // Other tests of the shared app expect the one seeded model.
            Directory.Delete(second, recursive: true);
        }
    }
}
