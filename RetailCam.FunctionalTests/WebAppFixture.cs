using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RetailCam.Storage.Accounts;
using RetailCam.Tests.Support;

namespace RetailCam.FunctionalTests;

/// <summary>The real app on real Kestrel on a loopback port, with its own empty data folder.</summary>
public sealed class WebAppFixture : IAsyncLifetime
{
    private WebApplicationFactory<Program>? factory;

    public string DataRoot { get; } = Path.Combine(Path.GetTempPath(), $"retailcam-e2e-{Guid.NewGuid():N}");
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The app's services, for tests that drive it from inside (start a training run) and watch it from outside.</summary>
    public IServiceProvider Services => factory?.Services ?? throw new InvalidOperationException("The app has not started.");

    /// <summary>The team the tests act as: one member per role, each with a personal access token.</summary>
    public const string Password = "a long end-to-end pass phrase";
    public const string AdminName = "e2e-admin";
    public const string TrainerName = "e2e-trainer";
    public const string ViewerName = "e2e-viewer";
    private readonly Dictionary<string, string> tokens = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataRoot);
        // A real (tiny) model folder, so pages and the API serve predictions without a training run.
        TinyModels.Save(Path.Combine(DataRoot, "models", "tiny"), seed: 3);
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Production");
            builder.UseSetting("RetailCam:DataRoot", DataRoot);
            builder.UseSetting("RetailCam:Device", "cpu");
            builder.UseSetting("RetailCam:QuickStart:Enabled", "false");
            // The server's log goes to the recording only: CLI verbs run in this process (ConsoleCapture), and
            // a console log line of the app landing after a verb's JSON would break "JSON on the last line".
            builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(ServerLog));
        });
        BaseAddress = LoopbackServer.Start(factory);
        foreach (var (name, role) in new[] { (AdminName, TeamRoles.Admin), (TrainerName, TeamRoles.Trainer), (ViewerName, TeamRoles.Viewer) })
            tokens[role] = await AddMemberAsync(factory.Services, name, role);
    }

    /// <summary>Adds a member to an app's team and returns a personal access token of theirs.</summary>
    public static async Task<string> AddMemberAsync(IServiceProvider services, string name, string role, string password = Password)
    {
        await using (var scope = services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<TeamAccounts>().AddAsync(name, role, password);
        return (await services.GetRequiredService<AccessTokens>().CreateAsync(name, "tests")).Token;
    }

    public string TokenOf(string role) => tokens[role];

    /// <summary>The app's warnings and errors, so a failing browser test can say what the server saw.</summary>
    public RecordingLoggerProvider ServerLog { get; } = new();

    /// <summary>A client that speaks for the admin, unless another role is named.</summary>
    public HttpClient CreateClient(string role = TeamRoles.Admin)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", tokens[role]);
        return client;
    }

    /// <summary>A client that is not signed in.</summary>
    public HttpClient CreateAnonymousClient() => new() { BaseAddress = BaseAddress };

    public async Task DisposeAsync()
    {
        if (factory is not null) await factory.DisposeAsync();
        try { Directory.Delete(DataRoot, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Keeps the last warnings and errors the app logged (with their exceptions), for failure messages.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> entries = new();

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    /// <summary>The last entries, oldest first.</summary>
    public string Recent(int count = 10) => string.Join("\n", entries.TakeLast(count));

    public void Dispose() { }

    private sealed class Recorder(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            owner.entries.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)} {exception}");
            while (owner.entries.Count > 200) owner.entries.TryDequeue(out _);
        }
    }
}
