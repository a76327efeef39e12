using System.Globalization;
using Microsoft.Playwright;

namespace RetailCam.FunctionalTests;

[Collection(WebCollection.Name)]
public class PredictPageTests(WebAppFixture app, BrowserFixture browser)
{
    private async Task<IPage> OpenPredictAsync(Action<IPage>? beforeNavigation = null)
    {
        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        beforeNavigation?.Invoke(page);
        await page.GotoAsync(new Uri(app.BaseAddress, "predict").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        return page;
    }

    private static Task WaitForImageAsync(IPage page, string selector) =>
        page.WaitForFunctionAsync($"() => {{ const i = document.querySelector('{selector}'); return i && i.complete && i.naturalWidth > 0; }}", null,
            new PageWaitForFunctionOptions { Timeout = 60_000 });

    [Fact]
    public async Task Uploaded_photo_gets_categories_a_path_and_an_overlay_whose_opacity_the_slider_changes_in_the_browser()
    {
        var frames = 0;
        var counting = false;
        var sockets = 0;
        var page = await OpenPredictAsync(p => p.WebSocket += (_, socket) =>
        {
            Interlocked.Increment(ref sockets);
            socket.FrameSent += (_, _) => { if (Volatile.Read(ref counting)) Interlocked.Increment(ref frames); };
        });
        await page.Locator("input[type=file]").SetInputFilesAsync(TestPhotos.Good());

        var card = page.GetByTestId("result-card").First;
        await card.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        // Top 5 of a model that knows 4 categories: all 4, each with its bar.
        Assert.Equal(4, await card.GetByTestId("top-categories").Locator(".mud-progress-linear").CountAsync());
        Assert.True(await card.GetByTestId("path-level").CountAsync() >= 2);
        await WaitForImageAsync(page, "[data-testid=heatmap]");

        var before = await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('[data-testid=heatmap]')).opacity");
        Assert.True(sockets > 0, "the Blazor circuit's WebSocket should have been seen");
        Volatile.Write(ref counting, true);
        await page.GetByTestId("opacity-slider").FillAsync("0.15");
        await page.WaitForTimeoutAsync(300);
        Volatile.Write(ref counting, false);
        var after = await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('[data-testid=heatmap]')).opacity");

        Assert.Equal(0.6, double.Parse(before, CultureInfo.InvariantCulture), 3);
        Assert.Equal(0.15, double.Parse(after, CultureInfo.InvariantCulture), 3);
        Assert.Equal(0, frames); // the slider never talked to the server
        Assert.Contains("opacity=0.15", await card.GetByTestId("download-overlay").GetAttributeAsync("href"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "predict.png"), FullPage = true });
    }

    [Fact]
    public async Task Choosing_another_category_shows_that_categorys_map()
    {
        var page = await OpenPredictAsync();
        await page.Locator("input[type=file]").SetInputFilesAsync(TestPhotos.Good("coat.png", 2));
        await page.GetByTestId("result-card").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        await WaitForImageAsync(page, "[data-testid=heatmap]");
        var firstMap = await page.GetByTestId("heatmap").First.GetAttributeAsync("src");

        await page.GetByTestId("class-selector").First.ClickAsync();
        var options = page.Locator(".mud-popover-open .mud-list-item");
        await options.First.WaitForAsync();
        // Pick a category other than the one shown now.
        var shownClass = System.Text.RegularExpressions.Regex.Match(firstMap!, "class=(\\d+)").Groups[1].Value;
        await options.Nth(shownClass == "0" ? 1 : 0).ClickAsync();
        await page.WaitForFunctionAsync("src => document.querySelector('[data-testid=heatmap]').getAttribute('src') !== src", firstMap);
        await WaitForImageAsync(page, "[data-testid=heatmap]");

        var secondMap = await page.GetByTestId("heatmap").First.GetAttributeAsync("src");
        Assert.NotEqual(firstMap, secondMap);
        var response = await page.APIRequest.GetAsync(new Uri(app.BaseAddress, secondMap!).ToString());
        Assert.Equal(200, response.Status);
        Assert.Equal("image/png", response.Headers["content-type"]);
    }

    [Fact]
    public async Task A_corrupt_file_shows_a_clear_message_and_the_rest_of_the_batch_goes_on()
    {
        var page = await OpenPredictAsync();
        await page.Locator("input[type=file]").SetInputFilesAsync([TestPhotos.NotAnImage(), TestPhotos.TruncatedPng(), TestPhotos.Good("trouser.png", 3)]);

        await page.GetByTestId("result-card").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        var errors = page.GetByTestId("upload-error");
        await Assertions.Expect(errors).ToHaveCountAsync(2);
        var text = string.Join(" | ", await errors.AllInnerTextsAsync());
        Assert.Contains("notes.jpg", text);
        Assert.Contains("not an image", text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("truncated.png", text);
        Assert.Equal(1, await page.GetByTestId("result-card").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "predict-errors.png"), FullPage = true });
    }

    [Fact]
    public async Task The_product_mask_layer_is_shown_on_demand_and_clears_the_boxed_products()
    {
        var page = await OpenPredictAsync();
        await page.Locator("input[type=file]").SetInputFilesAsync(TestPhotos.Good("masked.png", 8));
        var card = page.GetByTestId("result-card").First;
        await card.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        Assert.Equal(0, await card.GetByTestId("mask").CountAsync());

        await page.GetByTestId("mask-toggle").ClickAsync();
        await WaitForImageAsync(page, "[data-testid=mask]");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "predict-mask.png"), FullPage = true });

        // The layer is clear inside the map's boxes' regions and dims what lies outside every box.
        var maskUrl = (await card.GetByTestId("mask").GetAttributeAsync("src"))!;
        var response = await page.APIRequest.GetAsync(new Uri(app.BaseAddress, maskUrl).ToString());
        Assert.Equal("image/png", response.Headers["content-type"]);
        using var layer = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgba32>(await response.BodyAsync());
        var summaryUrl = maskUrl.Replace("/mask.png?", ".json?", StringComparison.Ordinal);
        using var summary = System.Text.Json.JsonDocument.Parse(await (await page.APIRequest.GetAsync(new Uri(app.BaseAddress, summaryUrl).ToString())).TextAsync());
        var width = summary.RootElement.GetProperty("width").GetInt32();
        var boxes = summary.RootElement.GetProperty("boxes").EnumerateArray().ToList();
        Assert.NotEmpty(boxes);
        var scale = (double)layer.Width / width;
        var clear = 0;
        for (var y = 0; y < layer.Height; y++)
        for (var x = 0; x < layer.Width; x++)
        {
            if (layer[x, y].A == 255) continue; // outline
            var inBox = boxes.Any(b => x >= b.GetProperty("xMin").GetInt32() * scale - 1 && x <= b.GetProperty("xMax").GetInt32() * scale + 1
                && y >= b.GetProperty("yMin").GetInt32() * scale - 1 && y <= b.GetProperty("yMax").GetInt32() * scale + 1);
            if (layer[x, y].A == 0) { clear++; Assert.True(inBox, $"clear pixel ({x}, {y}) outside every box"); }
        }
        Assert.True(clear > 0, "the product itself is shown clear");

        var hash = maskUrl.Split('/')[3];
        Assert.Equal(404, (await page.APIRequest.GetAsync(new Uri(app.BaseAddress, $"/api/maps/{new string('a', 64)}/mask.png?class=0").ToString())).Status);
        Assert.Equal(400, (await page.APIRequest.GetAsync(new Uri(app.BaseAddress, $"/api/maps/{hash}/mask.png?class=0&method=nope").ToString())).Status);
    }
}
