using Microsoft.Playwright;

namespace RetailCam.FunctionalTests;

[Collection(WebCollection.Name)]
public class HistoryPageTests(WebAppFixture app, BrowserFixture browser)
{
    [Fact]
    public async Task A_predicted_photo_is_listed_with_its_thumbnail_and_reopens_in_the_predict_page()
    {
        using (var client = app.CreateClient())
        {
            using var form = new MultipartFormDataContent { { new ByteArrayContent(File.ReadAllBytes(TestPhotos.Good("reopen-me.png", 40))), "images", "reopen-me.png" } };
            Assert.True((await client.PostAsync("/api/predict", form)).IsSuccessStatusCode);
        }

        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        await page.GotoAsync(new Uri(app.BaseAddress, "history").ToString());
        var row = page.GetByTestId("history-table").Locator("tr", new LocatorLocatorOptions { HasText = "reopen-me.png" }).First;
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('[data-testid=history-thumbnail]')].every(i => i.complete && i.naturalWidth > 0)");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "history.png"), FullPage = true });

        await row.GetByTestId("history-open").ClickAsync();
        // A client-side navigation: poll the address (WaitForURL waits for a load event that may never come).
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/predict\\?history="), new PageAssertionsToHaveURLOptions { Timeout = 60_000 });
        var card = page.GetByTestId("result-card");
        await card.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        Assert.Contains("reopen-me.png", await card.InnerTextAsync());
    }
}
