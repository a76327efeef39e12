using Microsoft.Playwright;

namespace RetailCam.FunctionalTests;

[Collection(WebCollection.Name)]
public class CataloguePageTests(WebAppFixture app, BrowserFixture browser)
{
    [Fact]
    public async Task A_small_folder_is_categorised_into_a_table_and_a_csv_with_the_cli_columns()
    {
        var folder = Path.Combine(app.DataRoot, "photos", "summer");
        Directory.CreateDirectory(folder);
        for (var i = 0; i < 3; i++) File.Copy(TestPhotos.Good($"summer-{i}.png", 70 + i), Path.Combine(folder, $"photo-{i}.png"), overwrite: true);
        File.Copy(TestPhotos.NotAnImage(), Path.Combine(folder, "broken.jpg"), overwrite: true);

        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        await page.GotoAsync(new Uri(app.BaseAddress, "catalogue").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        await page.Locator("input[data-testid=folder-input], [data-testid=folder-input] input").First.FillAsync("photos/summer");
        await page.Keyboard.PressAsync("Escape");
        await page.GetByTestId("start-catalogue").ClickAsync();

        await page.GetByTestId("catalogue-done").WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        Assert.Equal("4", (await page.GetByTestId("catalogue-count").InnerTextAsync()).Trim());
        Assert.Equal(4, await page.GetByTestId("catalogue-table").Locator("tbody tr").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "catalogue.png"), FullPage = true });

        var href = await page.GetByTestId("download-csv").GetAttributeAsync("href");
        var csv = await (await page.APIRequest.GetAsync(new Uri(app.BaseAddress, href!).ToString())).TextAsync();
        var lines = csv.Trim().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal("file,category,confidence,path,second_category,second_confidence,x_min,y_min,x_max,y_max,error", lines[0]);
        Assert.Equal(5, lines.Count);
        Assert.Contains(lines, l => l.StartsWith("broken.jpg,", StringComparison.Ordinal) && l.Contains("not an image"));
        Assert.Equal(3, lines.Count(l => l.StartsWith("photo-", StringComparison.Ordinal) && l.Contains("Apparel") | l.Contains("Footwear")));

        // The tiny model is unsure of every photo: each waits for a reviewer under its name in the folder.
        await Assertions.Expect(page.GetByTestId("catalogue-queued")).ToContainTextAsync("3 unsure");
        var review = await page.APIRequest.GetAsync(new Uri(app.BaseAddress, "api/review").ToString());
        using var open = System.Text.Json.JsonDocument.Parse(await review.TextAsync());
        var queued = open.RootElement.EnumerateArray().Where(r => r.GetProperty("source").GetString() == "catalogue").Select(r => r.GetProperty("file").GetString()).ToList();
        Assert.Equal(["photo-0.png", "photo-1.png", "photo-2.png"], queued.Order());
    }

    [Fact]
    public async Task A_path_leaving_the_root_is_refused_in_the_page()
    {
        var page = await browser.NewPageAsync(app);
        await page.GotoAsync(new Uri(app.BaseAddress, "catalogue").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        await page.Locator("input[data-testid=folder-input], [data-testid=folder-input] input").First.FillAsync("../..");
        await page.Keyboard.PressAsync("Escape");
        await page.GetByTestId("start-catalogue").ClickAsync();

        var error = page.GetByTestId("catalogue-error");
        await error.WaitForAsync();
        Assert.Contains("..", await error.InnerTextAsync());
    }
}
