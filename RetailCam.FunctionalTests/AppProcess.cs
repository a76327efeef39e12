using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RetailCam.FunctionalTests;

/// <summary>
/// The web app as a real child process (its own build output, on a free loopback port), for what an
/// in-process app cannot show: being killed with SIGKILL, or stopped with SIGTERM, and started again.
/// </summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private AppProcess(Process process, Uri address)
    {
        this.process = process;
        Address = address;
    }

    public Uri Address { get; }
    public int Id => process.Id;

    /// <summary>What the app wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    /// <summary>The web app's own build output, beside this test project's (same configuration).</summary>
    public static string WebAppDll() => BuildOutput("RetailCam.Web", "RetailCam.Web.dll");

    /// <summary>The CLI's own build output, to run `retailcam` as a process of its own.</summary>
    public static string CliDll() => BuildOutput("RetailCam.Cli", "retailcam.dll");

    /// <summary>The worker's own build output (a cluster's job executor).</summary>
    public static string WorkerDll() => BuildOutput("RetailCam.Worker", "RetailCam.Worker.dll");

    /// <summary>The checkout these tests were built from.</summary>
    public static string RepositoryRoot() => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", ".."));

    private static string BuildOutput(string project, string file)
    {
        var tests = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var framework = Path.GetFileName(tests);
        var configuration = Path.GetFileName(Path.GetDirectoryName(tests)!);
        return Path.Combine(RepositoryRoot(), project, "bin", configuration, framework, file);
    }

    /// <summary>A free loopback port, for an app that must come back on the address its clients know.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the app on <paramref name="dataRoot"/> and returns once /healthz answers.</summary>
    public static Task<AppProcess> StartAsync(string dataRoot, params (string Key, string Value)[] settings) => StartAsync(dataRoot, FreePort(), settings);

    /// <summary>Starts the app on <paramref name="dataRoot"/>, serving on <paramref name="port"/>, and returns once /healthz answers.</summary>
    public static async Task<AppProcess> StartAsync(string dataRoot, int port, params (string Key, string Value)[] settings)
    {
        var dll = WebAppDll();
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} is missing: build RetailCam.Web");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.Environment["RetailCam__DataRoot"] = dataRoot;
        start.Environment["RetailCam__QuickStart__Enabled"] = "false";
        start.Environment["RetailCam__Device"] = "cpu";
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        foreach (var (key, value) in settings) start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        var app = new AppProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}/"));
        app.process.OutputDataReceived += (_, e) => app.Append(e.Data);
        app.process.ErrorDataReceived += (_, e) => app.Append(e.Data);
        app.process.BeginOutputReadLine();
        app.process.BeginErrorReadLine();
        await app.WaitHealthyAsync(TimeSpan.FromMinutes(2));
        return app;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    private async Task WaitHealthyAsync(TimeSpan within)
    {
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"The app exited with {process.ExitCode} before it served:\n{Output}");
            try
            {
                if ((await client.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The app did not become healthy within {within}:\n{Output}");
            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL: the process ends at once, with no chance to checkpoint or record anything.</summary>
    public async Task KillAsync()
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as a service manager or Ctrl+C stops the app; returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan within)
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(within);
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited) await KillAsync();
        process.Dispose();
    }
}
