using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace RetailCam.FunctionalTests;

/// <summary>
/// An app of a test's own, on real Kestrel and an empty data folder, for what the shared app must not
/// be used for: a first start with no users, limits set low, a flood of hostile uploads.
/// </summary>
public sealed class PrivateWebApp : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> factory;

    /// <param name="tinyModel">Place a tiny model, so the app predicts at once.</param>
    /// <param name="settings">Configuration keys over the defaults (RetailCam:Limits:PredictBurst = 3, …).</param>
    public PrivateWebApp(bool tinyModel, params (string Key, string Value)[] settings) : this(tinyModel, (System.Net.IPAddress?)null, settings) { }

    /// <param name="tinyModel">Place a tiny model, so the app predicts at once.</param>
    /// <param name="listenOn">The address to serve on (default: loopback).</param>
    /// <param name="settings">Configuration keys over the defaults.</param>
    public PrivateWebApp(bool tinyModel, System.Net.IPAddress? listenOn, params (string Key, string Value)[] settings)
        : this(tinyModel, listenOn, prepare: null, settings) { }

    /// <param name="prepare">Lays out the data folder (given) before the app starts on it.</param>
    public PrivateWebApp(bool tinyModel, Action<string> prepare, params (string Key, string Value)[] settings)
        : this(tinyModel, null, prepare, settings) { }

    private PrivateWebApp(bool tinyModel, System.Net.IPAddress? listenOn, Action<string>? prepare, (string Key, string Value)[] settings)
    {
        if (tinyModel) RetailCam.Tests.Support.TinyModels.Save(Path.Combine(DataRoot, "models", "tiny"), seed: 5);
        prepare?.Invoke(DataRoot);
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Production");
            builder.UseSetting("RetailCam:DataRoot", DataRoot);
            builder.UseSetting("RetailCam:Device", "cpu");
            builder.UseSetting("RetailCam:QuickStart:Enabled", "false");
            foreach (var (key, value) in settings) builder.UseSetting(key, value);
        });
        Address = LoopbackServer.Start(factory, listenOn ?? System.Net.IPAddress.Loopback);
    }

    public string DataRoot { get; } = Directory.CreateTempSubdirectory("retailcam-private-").FullName;
    public Uri Address { get; }
    public IServiceProvider Services => factory.Services;

    /// <summary>A client speaking for a new member of this app's team.</summary>
    public async Task<HttpClient> ClientOfNewMemberAsync(string name, string role)
    {
        var token = await WebAppFixture.AddMemberAsync(Services, name, role);
        var client = new HttpClient { BaseAddress = Address };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await factory.DisposeAsync();
        // Pooled connections keep the database open; let go of them before deleting.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataRoot, recursive: true); } catch (IOException) { }
    }
}
