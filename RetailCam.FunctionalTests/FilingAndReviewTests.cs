using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

using static RetailCam.FunctionalTests.HttpJson;
using static RetailCam.FunctionalTests.PageControls;

namespace RetailCam.FunctionalTests;

/// <summary>
/// Predictions filed into datasets and the review queue, over REST and in the browser, on real Kestrel
/// and SQLite with the fixture's tiny model (whose answers are unsure, so every photo is queued).
/// </summary>
[Collection(WebCollection.Name)]
public class FilingAndReviewTests(WebAppFixture app, BrowserFixture browser)
{
    private static async Task<JsonElement> PredictAsync(HttpClient client, string path)
    {
        var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(path));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(content, "images", Path.GetFileName(path));
        var response = await client.PostAsync("/api/predict", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await Json(response)).GetProperty("images")[0];
    }

    private static async Task<string> DatasetWithModelCategoriesAsync(HttpClient client, string name, JsonElement prediction)
    {
        var created = await client.PostAsJsonAsync("/api/datasets", new { name });
        var id = (await Json(created)).GetProperty("id").GetString()!;
        foreach (var top in prediction.GetProperty("top").EnumerateArray())
            await client.PostAsync($"/api/datasets/{id}/categories?path={Uri.EscapeDataString(top.GetProperty("category").GetString()!)}", null);
        return id;
    }

    [Fact]
    public async Task A_prediction_carries_its_upload_id_and_filing_it_puts_the_photo_in_the_category_once()
    {
        using var client = app.CreateClient();
        var image = await PredictAsync(client, TestPhotos.Good($"{Guid.NewGuid():N}.png", 21));
        var upload = image.GetProperty("upload").GetString()!;
        Assert.Equal(64, upload.Length);
        var dataset = await DatasetWithModelCategoriesAsync(client, "Filed from predict", image);
        var category = image.GetProperty("top")[1].GetProperty("category").GetString()!;

        var filed = await client.PostAsJsonAsync("/api/files", new { upload, dataset, category });
        Assert.Equal(HttpStatusCode.Created, filed.StatusCode);
        var body = await Json(filed);
        Assert.Equal(category, body.GetProperty("category").GetString());
        Assert.False(body.GetProperty("alreadyPresent").GetBoolean());
        var again = await Json(await client.PostAsJsonAsync("/api/files", new { upload, dataset, category }));
        Assert.True(again.GetProperty("alreadyPresent").GetBoolean());
        var categories = await Json(await client.GetAsync($"/api/datasets/{dataset}/categories"));
        Assert.Equal(1, categories.EnumerateArray().Single(c => c.GetProperty("path").GetString() == category).GetProperty("count").GetInt32());

        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/api/files", new { upload = new string('0', 64), dataset, category })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/api/files", new { upload, dataset = "nope", category })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/api/files", new { upload, dataset, category = "Not/There" })).StatusCode);
        var incomplete = await client.PostAsJsonAsync("/api/files", new { upload });
        Assert.Equal(HttpStatusCode.BadRequest, incomplete.StatusCode);
        Assert.Equal("application/problem+json", incomplete.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_unsure_prediction_waits_in_the_review_queue_and_a_key_press_files_it()
    {
        using var client = app.CreateClient();
        var image = await PredictAsync(client, TestPhotos.Good($"{Guid.NewGuid():N}.png", 22));
        var reviewId = image.GetProperty("review").GetString();
        Assert.False(string.IsNullOrEmpty(reviewId), "the tiny model's answer should be unsure enough to review");
        var open = await Json(await client.GetAsync("/api/review"));
        Assert.Contains(open.EnumerateArray(), r => r.GetProperty("id").GetString() == reviewId);
        var dataset = await DatasetWithModelCategoriesAsync(client, "AAA review target", image);
        var expected = image.GetProperty("top")[1].GetProperty("category").GetString()!;

        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1360, Height = 1000 } });
        await page.GotoAsync(new Uri(app.BaseAddress, "review").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        // Work down to this test's item: other tests may have queued photos before it.
        var item = page.GetByTestId("review-item");
        await item.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });
        await ChooseAsync(page, page.GetByTestId("review-dataset"), "AAA review target");
        var fileName = image.GetProperty("file").GetString()!;
        for (var i = 0; i < 50 && !(await item.InnerTextAsync()).Contains(fileName, StringComparison.Ordinal); i++)
            await item.PressAsync("ArrowDown");
        await Assertions.Expect(item).ToContainTextAsync(fileName);
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('[data-testid=review-map]'); return i && i.complete && i.naturalWidth > 0; }",
            null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "review-queue.png"), FullPage = true });

        await item.PressAsync("2");
        await Assertions.Expect(page.GetByTestId("review-message")).ToContainTextAsync($"{fileName} filed under");
        var remaining = await Json(await client.GetAsync("/api/review"));
        Assert.DoesNotContain(remaining.EnumerateArray(), r => r.GetProperty("id").GetString() == reviewId);
        var categories = await Json(await client.GetAsync($"/api/datasets/{dataset}/categories"));
        Assert.Equal(1, categories.EnumerateArray().Single(c => c.GetProperty("path").GetString() == expected).GetProperty("count").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync($"/api/review/{reviewId}/dismiss", null)).StatusCode);
    }

    [Fact]
    public async Task A_result_on_the_predict_page_is_filed_with_its_predicted_category_preselected()
    {
        using var client = app.CreateClient();
        var probe = await PredictAsync(client, TestPhotos.Good($"{Guid.NewGuid():N}.png", 23));
        var dataset = await DatasetWithModelCategoriesAsync(client, "AAB predict target", probe);

        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1360, Height = 1000 } });
        await page.GotoAsync(new Uri(app.BaseAddress, "predict").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        var photo = TestPhotos.Good($"{Guid.NewGuid():N}.png", 24);
        await page.Locator("input[type=file]").SetInputFilesAsync(photo);
        var card = page.GetByTestId("result-card").First;
        await card.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        await ChooseAsync(page, card.GetByTestId("file-dataset"), "AAB predict target");
        await Assertions.Expect(card.GetByTestId("file-button")).ToBeEnabledAsync(new LocatorAssertionsToBeEnabledOptions { Timeout = 30_000 });
        // Preselected: where the prediction files, or its top category.
        var shown = (await card.GetByTestId("file-category").InnerTextAsync()).Replace("File under", "", StringComparison.Ordinal).Trim();
        var preselected = shown.Replace(" › ", "/", StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(preselected));
        await card.GetByTestId("file-button").ClickAsync();
        await Assertions.Expect(card.GetByTestId("filed")).ToContainTextAsync("Filed under");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "predict-filed.png"), FullPage = true });

        var categories = await Json(await client.GetAsync($"/api/datasets/{dataset}/categories"));
        Assert.Equal(1, categories.EnumerateArray().Sum(c => c.GetProperty("count").GetInt32()));
        // Filed: no longer waiting for review.
        var open = await Json(await client.GetAsync("/api/review"));
        Assert.DoesNotContain(open.EnumerateArray(), r => r.GetProperty("file").GetString() == Path.GetFileName(photo));
        Assert.Equal(1, categories.EnumerateArray().Single(c => c.GetProperty("path").GetString() == preselected).GetProperty("count").GetInt32());
    }
}
