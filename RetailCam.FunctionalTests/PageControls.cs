using Microsoft.Playwright;

namespace RetailCam.FunctionalTests;

/// <summary>How the browser tests reach MudBlazor's controls, which put a test id on a wrapper or on the input itself.</summary>
internal static class PageControls
{
    public static ILocator Input(IPage page, string testId) =>
        page.Locator($"input[data-testid={testId}], [data-testid={testId}] input").First;

    /// <summary>Opens a MudSelect and picks the option with that text, then waits for its list to close.</summary>
    public static async Task ChooseAsync(IPage page, ILocator select, string option)
    {
        await select.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item").Filter(new LocatorFilterOptions { HasText = option }).First.ClickAsync();
        await Assertions.Expect(page.Locator(".mud-popover-open .mud-list-item")).ToHaveCountAsync(0);
    }

    /// <summary>Goes to a page of the app and waits until its circuit is interactive.</summary>
    public static async Task GoToAsync(IPage page, Uri baseAddress, string path)
    {
        await page.GotoAsync(new Uri(baseAddress, path).ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
    }
}
