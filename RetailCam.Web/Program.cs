using Microsoft.AspNetCore.HttpOverrides;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Layout;
using RetailCam.Storage;
using RetailCam.Web.Api;
using RetailCam.Web.Components;
using RetailCam.Web.Hubs;
using RetailCam.Web.Observability;
using RetailCam.Web.ScaleOut;
using RetailCam.Web.Security;
using RetailCam.Web.Services;

var builder = WebApplication.CreateBuilder(args);

// Static assets from the build output are otherwise mapped only in Development; without this a
// Production run from bin/ answers 500 for MudBlazor's css/js and blazor.web.js.
builder.WebHost.UseStaticWebAssets();

builder.AddRetailCamEngine();
builder.AddRetailCamStorage();
builder.AddRetailCamWeb();
builder.AddRetailCamSecurity();
builder.AddRetailCamObservability();
builder.AddRetailCamScaleOut(ClusterRole.WebNode);

var app = builder.Build();

// One app per data root: a second start says so and exits instead of sharing the runs and models. The
// nodes and workers of a cluster share theirs by design: they coordinate through its PostgreSQL database.
DataRootLock? instanceLock = null;
if (!StorageSharesDataRoot(builder.Configuration))
{
    try
    {
        instanceLock = DataRootLock.Acquire(app.Services.GetRequiredService<DataRootLayout>().Root);
    }
    catch (DataRootInUseException ex)
    {
        Console.Error.WriteLine($"error: {ex.Message}");
        Environment.ExitCode = 1;
        return;
    }
}

var node = app.Services.GetRequiredService<NodeIdentity>();
app.Use((context, next) =>
{
    // Which node answered: behind the balancer, what an operator needs to find the log.
    context.Response.Headers[NodeIdentity.Header] = node.Name;
    return next(context);
});

// Behind a balancer the client's address and scheme come in X-Forwarded-*: honoured only from a proxy
// on this machine (the default known proxies are the loopback addresses) or one named in
// RetailCam:KnownProxies, never from a client.
var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto };
foreach (var proxy in builder.Configuration.GetSection("RetailCam:KnownProxies").Get<string[]>() ?? [])
{
    if (!System.Net.IPAddress.TryParse(proxy, out var address))
    {
        Console.Error.WriteLine($"error: RetailCam:KnownProxies holds '{proxy}', which is not an IP address.");
        Environment.ExitCode = 1;
        return;
    }
    forwarded.KnownProxies.Add(address);
}
app.UseForwardedHeaders(forwarded);
app.UseSecurityHeaders();
if (!app.Environment.IsDevelopment())
{
    // Scripts get a problem document (no exception text, no paths), people the error page.
    app.UseWhen(context => SignInProblems.IsApi(context.Request), api => api.UseExceptionHandler());
    app.UseWhen(context => !SignInProblems.IsApi(context.Request), pages => pages.UseExceptionHandler("/Error", createScopeForErrors: true));
}
app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();
app.UseJsonBodyLimit();
app.UseAntiforgery();

// The sign-in page needs the styles and scripts before anyone is signed in.
app.MapStaticAssets().AllowAnonymous();
app.MapOpenApi().AllowAnonymous();
app.MapHealthApi();
app.MapRetailCamObservability();
app.MapAccountEndpoints();
app.MapPredictApi();
app.MapRunsApi();
app.MapDatasetsApi();
app.MapFilingApi();
app.MapCatalogueApi();
app.MapTrainingHub();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

using (instanceLock)
{
    // The history database is created or migrated before the first request.
    await StorageInitializer.InitializeAsync(app.Services);
    await app.RunAsync();
}

/// <summary>Entry point type, visible to WebApplicationFactory in tests.</summary>
public partial class Program
{
    private static bool StorageSharesDataRoot(IConfiguration configuration) =>
        string.Equals(configuration["RetailCam:Storage:Provider"], "postgres", StringComparison.OrdinalIgnoreCase);
}
