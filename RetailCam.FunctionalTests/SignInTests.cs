using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using RetailCam.Storage.Accounts;
using RetailCam.Tests.Support;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>Sign-in, roles and tokens on the real app: who may do what, and what strangers get.</summary>
[Collection(WebCollection.Name)]
public class SignInTests(WebAppFixture app, BrowserFixture browser)
{
    [Theory]
    [InlineData("GET", "/api/runs")]
    [InlineData("GET", "/api/models")]
    [InlineData("GET", "/api/datasets")]
    [InlineData("GET", "/api/review")]
    [InlineData("POST", "/api/predict")]
    [InlineData("GET", "/metrics")]
    [InlineData("POST", "/hubs/training/negotiate?negotiateVersion=1")]
    public async Task A_stranger_gets_401_with_problem_details_and_no_redirect(string method, string path)
    {
        using var client = app.CreateAnonymousClient();
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task A_stranger_is_sent_to_the_login_page_and_health_says_only_that_it_is_up()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false };
        using var client = new HttpClient(handler) { BaseAddress = app.BaseAddress };
        using var page = await client.GetAsync("/datasets");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/account/login", page.Headers.Location!.PathAndQuery);
        Assert.Contains("ReturnUrl=%2Fdatasets", page.Headers.Location.Query);

        using var health = await client.GetAsync("/healthz");
        var body = await Json(health);
        Assert.Equal(["status"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/account/login")).StatusCode);
    }

    [Fact]
    public async Task Each_role_may_do_its_own_work_and_gets_403_beyond_it()
    {
        using var viewer = app.CreateClient(TeamRoles.Viewer);
        using var trainer = app.CreateClient(TeamRoles.Trainer);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/runs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/models")).StatusCode);
        await AssertProblemAsync(await viewer.PostAsJsonAsync("/api/datasets", new { name = "viewer may not" }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await viewer.PostAsJsonAsync("/api/runs", new { dataset = "any" }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await viewer.GetAsync("/api/review"), HttpStatusCode.Forbidden);

        var created = await trainer.PostAsJsonAsync("/api/datasets", new { name = "Trainer's own" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await trainer.GetAsync("/api/review")).StatusCode);
        await AssertProblemAsync(await trainer.DeleteAsync("/api/runs/some-run"), HttpStatusCode.Forbidden);
        // The admin passes authorisation and reaches the endpoint's own answer.
        using var admin = app.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/api/runs/no-such-run")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_token_is_refused_and_a_disabled_members_token_stops_working()
    {
        using var forged = app.CreateAnonymousClient();
        forged.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "rc_not-a-real-token");
        await AssertProblemAsync(await forged.GetAsync("/api/runs"), HttpStatusCode.Unauthorized);

        var name = $"leaver-{Guid.NewGuid():N}"[..16];
        var token = await WebAppFixture.AddMemberAsync(app.Services, name, TeamRoles.Viewer);
        using var client = app.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/runs")).StatusCode);
        await using (var scope = app.Services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<TeamAccounts>().SetDisabledAsync(name, true);
        await AssertProblemAsync(await client.GetAsync("/api/runs"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_cli_adds_a_member_and_their_token_works_against_the_running_app()
    {
        var name = $"cli-{Guid.NewGuid():N}"[..12];
        var environment = ("RetailCam__DataRoot", app.DataRoot);
        Environment.SetEnvironmentVariable(environment.Item1, environment.Item2);
        try
        {
            var (exit, stdout, stderr) = await ConsoleCapture.RunAsync(() => Cli.CliProgram.InvokeAsync(["users", "add", name, "--role", "trainer", "--password-stdin", "--json"]),
                TimeSpan.FromMinutes(2), stdin: WebAppFixture.Password + "\n");
            Assert.True(exit == 0, stderr);
            Assert.Contains("\"role\":\"trainer\"", stdout);
            (exit, stdout, stderr) = await ConsoleCapture.RunAsync(() => Cli.CliProgram.InvokeAsync(["tokens", "create", name, "--json"]), TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, stderr);
            var token = System.Text.Json.JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.GetProperty("token").GetString()!;

            using var client = app.CreateAnonymousClient();
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/datasets", new { name = "From a script" })).StatusCode);

            // Revoked with the CLI, the token stops working at once.
            var id = System.Text.Json.JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.GetProperty("id").GetString()!;
            (exit, stdout, stderr) = await ConsoleCapture.RunAsync(() => Cli.CliProgram.InvokeAsync(["tokens", "list", name, "--json"]), TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, stderr);
            Assert.Contains(id, stdout);
            Assert.DoesNotContain(token, stdout);
            (exit, _, stderr) = await ConsoleCapture.RunAsync(() => Cli.CliProgram.InvokeAsync(["tokens", "revoke", name, id]), TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, stderr);
            await AssertProblemAsync(await client.GetAsync("/api/runs"), HttpStatusCode.Unauthorized);

            (exit, _, stderr) = await ConsoleCapture.RunAsync(() => Cli.CliProgram.InvokeAsync(["users", "add", name + "x", "--role", "viewer", "--password-stdin"]),
                TimeSpan.FromMinutes(2), stdin: "short\n");
            Assert.Equal(1, exit);
            Assert.Contains("at least", stderr);
        }
        finally
        {
            Environment.SetEnvironmentVariable(environment.Item1, null);
        }
    }

    [Fact]
    public async Task A_viewer_signs_in_sees_only_their_pages_and_is_told_when_a_page_needs_another_role()
    {
        var name = $"viewer-{Guid.NewGuid():N}"[..14];
        await WebAppFixture.AddMemberAsync(app.Services, name, TeamRoles.Viewer);
        await using var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(app.BaseAddress, "predict").ToString());
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/login"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "login.png") });
        await page.GetByTestId("login-user").FillAsync(name);
        await page.GetByTestId("login-password").FillAsync(WebAppFixture.Password);
        await page.GetByTestId("login-submit").ClickAsync();
        // Back where they were going, signed in.
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/predict$"));
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("nav-predict")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("nav-datasets")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByTestId("nav-users")).ToHaveCountAsync(0);

        await page.GotoAsync(new Uri(app.BaseAddress, "datasets").ToString());
        await Assertions.Expect(page.GetByTestId("access-denied")).ToContainTextAsync("viewer");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "access-denied.png") });

        // Signing out ends the session: the next page asks to sign in again.
        await page.GotoAsync(new Uri(app.BaseAddress, "predict").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        await page.GetByTestId("account-menu").ClickAsync();
        await Assertions.Expect(page.GetByTestId("signed-in-as")).ToContainTextAsync(name);
        await page.GetByTestId("sign-out").ClickAsync();
        await Assertions.Expect(page.GetByTestId("login-message")).ToContainTextAsync("Signed out");
        await page.GotoAsync(new Uri(app.BaseAddress, "predict").ToString());
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/login"));
    }

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_account()
    {
        var name = $"guess-{Guid.NewGuid():N}"[..13];
        await WebAppFixture.AddMemberAsync(app.Services, name, TeamRoles.Viewer);
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            await BrowserFixture.SignInAsync(page, app.BaseAddress, name, $"wrong guess number {attempt}");
            await Assertions.Expect(page.GetByTestId("login-message")).ToBeVisibleAsync();
        }
        await Assertions.Expect(page.GetByTestId("login-message")).ToContainTextAsync("locked");
        // Even the right password is refused while the lock lasts.
        await BrowserFixture.SignInAsync(page, app.BaseAddress, name, WebAppFixture.Password);
        await Assertions.Expect(page.GetByTestId("login-message")).ToContainTextAsync("locked");
    }

    [Fact]
    public async Task An_admin_adds_a_trainer_in_the_users_page()
    {
        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        await PageControls.GoToAsync(page, app.BaseAddress, "admin/users");
        var name = $"added-{Guid.NewGuid():N}"[..13];
        await PageControls.Input(page, "user-name").FillAsync(name);
        await PageControls.Input(page, "user-password").FillAsync(WebAppFixture.Password);
        await PageControls.ChooseAsync(page, page.GetByTestId("user-role"), TeamRoles.Trainer);
        await page.GetByTestId("user-add").ClickAsync();
        await Assertions.Expect(page.GetByTestId("users-message")).ToContainTextAsync($"Added {name} (trainer)");
        await Assertions.Expect(page.Locator($"[data-testid=user-row][data-user='{name}']")).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "users.png"), FullPage = true });

        await using var context = await browser.NewContextAsync(app, userName: name);
        var theirs = await context.NewPageAsync();
        await PageControls.GoToAsync(theirs, app.BaseAddress, "datasets");
        await Assertions.Expect(PageControls.Input(theirs, "dataset-name")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task On_a_first_start_a_visitor_on_this_machine_creates_the_admin_and_is_signed_in()
    {
        await using var fresh = new PrivateWebApp(tinyModel: false);
        await using var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(fresh.Address.ToString());
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/account/login"));
        await page.GetByTestId("login-setup").Locator("a").ClickAsync();
        await page.GetByTestId("setup-user").FillAsync("first-admin");
        await page.GetByTestId("setup-password").FillAsync(WebAppFixture.Password);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "first-start-setup.png") });
        await page.GetByTestId("setup-submit").ClickAsync();
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        await page.GetByTestId("account-menu").ClickAsync();
        await Assertions.Expect(page.GetByTestId("signed-in-as")).ToContainTextAsync("first-admin · admin");

        // Once the team has its admin, setup is over for everyone.
        await page.GotoAsync(new Uri(fresh.Address, "setup").ToString());
        await Assertions.Expect(page.GetByTestId("setup-done")).ToBeVisibleAsync();
        await using var scope = fresh.Services.CreateAsyncScope();
        Assert.Single(await scope.ServiceProvider.GetRequiredService<TeamAccounts>().ListAsync());
    }

    [Fact]
    public async Task Uploads_predictions_and_filings_record_who_made_them()
    {
        using var viewer = app.CreateClient(TeamRoles.Viewer);
        var form = new MultipartFormDataContent { { new ByteArrayContent(await File.ReadAllBytesAsync(TestPhotos.Good($"{Guid.NewGuid():N}.png", 91))), "images", "owned.png" } };
        var image = (await Json(await viewer.PostAsync("/api/predict", form))).GetProperty("images")[0];
        var upload = image.GetProperty("upload").GetString()!;

        using var trainer = app.CreateClient(TeamRoles.Trainer);
        var dataset = (await Json(await trainer.PostAsJsonAsync("/api/datasets", new { name = "Owned filings" }))).GetProperty("id").GetString()!;
        await trainer.PostAsync($"/api/datasets/{dataset}/categories?path=Shelf%2FMugs", null);
        Assert.Equal(HttpStatusCode.Created, (await trainer.PostAsJsonAsync("/api/files", new { upload, dataset, category = "Shelf/Mugs" })).StatusCode);

        var contexts = app.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Storage.RetailCamDbContext>>();
        await using var db = await contexts.CreateDbContextAsync();
        Assert.Equal(WebAppFixture.ViewerName, db.Uploads.Single(u => u.ContentHash == upload).Owner);
        Assert.Equal(WebAppFixture.ViewerName, db.Predictions.Where(p => p.ContentHash == upload).Select(p => p.Owner).Single());
        Assert.Equal(WebAppFixture.TrainerName, db.FiledPhotos.Single(f => f.ContentHash == upload && f.DatasetId == dataset).FiledBy);
    }

    /// <summary>Every route the OpenAPI document lists, with made-up values for its parameters: a new endpoint cannot forget its authorisation.</summary>
    [Fact]
    public async Task Every_api_route_in_the_openapi_document_answers_a_stranger_401()
    {
        using var client = app.CreateAnonymousClient();
        var document = await Json(await client.GetAsync("/openapi/v1.json"));
        var checkedRoutes = 0;
        var refusedNot401 = new List<string>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            if (path.Name == "/healthz") continue;
            var concrete = System.Text.RegularExpressions.Regex.Replace(path.Name, "{[^}]+}", m => m.Value.Contains("hash") ? new string('0', 64) : m.Value.Contains("id") ? Guid.Empty.ToString() : "1");
            foreach (var operation in path.Value.EnumerateObject())
            {
                if (operation.Name is "parameters" or "summary" or "description") continue;
                using var request = new HttpRequestMessage(new HttpMethod(operation.Name.ToUpperInvariant()), concrete);
                if (operation.Name is "post" or "put" or "patch") request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
                using var response = await client.SendAsync(request);
                checkedRoutes++;
                if (response.StatusCode != HttpStatusCode.Unauthorized) refusedNot401.Add($"{operation.Name.ToUpperInvariant()} {path.Name}: {(int)response.StatusCode}");
            }
        }
        Assert.True(checkedRoutes >= 25, $"only {checkedRoutes} routes in the OpenAPI document");
        Assert.True(refusedNot401.Count == 0, string.Join("\n", refusedNot401));
    }

    [Fact]
    public async Task Setup_is_refused_to_a_visitor_from_another_machine()
    {
        // This machine's own address on its network: a request to it does not come from loopback.
        var address = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Assert.True(address is not null, "the machine has a network address besides loopback");
        await using var fresh = new PrivateWebApp(tinyModel: false, listenOn: address);
        using var client = new HttpClient { BaseAddress = fresh.Address };
        using var page = await client.GetAsync("/setup");
        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("data-testid=\"setup-refused\"", html);
        Assert.DoesNotContain("setup-form", html);

        // Posting the form anyway, with a valid antiforgery token from the login page, creates no one.
        var login = await client.GetStringAsync("/account/login");
        var token = System.Text.RegularExpressions.Regex.Match(login, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(token));
        using var post = await client.PostAsync("/account/setup", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["userName"] = "intruder", ["password"] = WebAppFixture.Password, ["__RequestVerificationToken"] = token,
        }));
        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        await using var scope = fresh.Services.CreateAsyncScope();
        Assert.False(await scope.ServiceProvider.GetRequiredService<TeamAccounts>().AnyAsync());
    }
}
