using System.Net;
using System.Text.Json;
using Microsoft.Playwright;

namespace RetailCam.FunctionalTests;

[Collection(WebCollection.Name)]
public class HomePageTests(WebAppFixture app, BrowserFixture browser)
{
    [Fact]
    public async Task Home_page_shows_the_engine_device_and_the_model_it_serves()
    {
        var page = await browser.NewPageAsync(app);
        await page.GotoAsync(app.BaseAddress.ToString());

        var device = page.GetByTestId("engine-device");
        await device.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        Assert.Equal("cpu", (await device.InnerTextAsync()).Trim());
        // The model row names the model that serves (the fixture's only one), the pretrained row the shipped weights.
        var model = page.GetByTestId("engine-model");
        await Assertions.Expect(model).ToContainTextAsync("model:tiny", new LocatorAssertionsToContainTextOptions { Timeout = 60_000 });
        Assert.Contains("vgg16", await model.InnerTextAsync());
        Assert.Contains("ResNet18", await page.GetByTestId("engine-pretrained").InnerTextAsync());

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "home.png"), FullPage = true });
    }

    [Fact]
    public async Task Theme_toggle_switches_to_dark_mode()
    {
        var page = await browser.NewPageAsync(app);
        await page.GotoAsync(app.BaseAddress.ToString());
        await page.GetByTestId("engine-device").WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        var before = await page.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor");

        await page.GetByTestId("theme-toggle").ClickAsync();
        await page.WaitForFunctionAsync("b => getComputedStyle(document.body).backgroundColor !== b", before);

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "home-dark.png") });
    }

    [Fact]
    public async Task Health_endpoint_reports_the_engine()
    {
        using var client = app.CreateClient();
        HttpResponseMessage response;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            response = await client.GetAsync("/healthz");
            if (response.StatusCode == HttpStatusCode.OK) break;
            await Task.Delay(200);
        } while (DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ok", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("cpu", body.RootElement.GetProperty("device").GetString());
    }

    [Fact]
    public async Task OpenApi_document_is_served()
    {
        using var client = app.CreateClient();
        var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.GetProperty("paths").TryGetProperty("/healthz", out _));
    }
}
