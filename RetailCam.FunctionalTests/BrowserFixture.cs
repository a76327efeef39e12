using Microsoft.Playwright;

namespace RetailCam.FunctionalTests;

/// <summary>Debian's Chromium, headless, driven by Playwright for .NET (which ships its driver, not a browser).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    private IPlaywright? playwright;

    public IBrowser Browser { get; private set; } = null!;

    public static string ScreenshotFolder
    {
        get
        {
            // TestResults/screenshots at the repository root, found from the test binaries' folder.
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "RetailCam.sln")))
                directory = directory.Parent;
            var folder = Path.Combine(directory?.FullName ?? AppContext.BaseDirectory, "TestResults", "screenshots");
            Directory.CreateDirectory(folder);
            return folder;
        }
    }

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does.");
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });
    }

    private readonly Dictionary<(Uri, string), string> signedIn = [];

    /// <summary>A page of its own browser context, signed in to the app (as its admin unless another member is named).</summary>
    public async Task<IPage> NewPageAsync(WebAppFixture app, BrowserNewPageOptions? options = null, string userName = WebAppFixture.AdminName)
    {
        var context = await NewContextAsync(app, options?.ViewportSize, userName);
        return await context.NewPageAsync();
    }

    /// <summary>
    /// A browser context carrying the member's sign-in cookie. The first one signs in through the real
    /// login page; later ones reuse its cookies, so each test does not sign in again.
    /// </summary>
    public async Task<IBrowserContext> NewContextAsync(WebAppFixture app, ViewportSize? viewport = null, string userName = WebAppFixture.AdminName)
    {
        // The browser tests share one collection, so they never sign in at the same time.
        if (!signedIn.TryGetValue((app.BaseAddress, userName), out var state))
        {
            await using var context = await Browser.NewContextAsync();
            var page = await context.NewPageAsync();
            await SignInAsync(page, app.BaseAddress, userName, WebAppFixture.Password);
            await Assertions.Expect(page).Not.ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/login"));
            state = await context.StorageStateAsync();
            signedIn[(app.BaseAddress, userName)] = state;
        }
        return await Browser.NewContextAsync(new BrowserNewContextOptions { StorageState = state, ViewportSize = viewport });
    }

    /// <summary>Fills and sends the login form, as a member would.</summary>
    public static async Task SignInAsync(IPage page, Uri baseAddress, string userName, string password)
    {
        await page.GotoAsync(new Uri(baseAddress, "account/login").ToString());
        await page.GetByTestId("login-user").FillAsync(userName);
        await page.GetByTestId("login-password").FillAsync(password);
        await page.GetByTestId("login-submit").ClickAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        playwright?.Dispose();
    }
}
