using System.Diagnostics;

namespace RetailCam.Tests.Support;

/// <summary>Runs the `retailcam` tool as a user does: a separate process, with its own environment, stdout and stderr read back.</summary>
public static class ToolProcess
{
    public static (int ExitCode, string Stdout, string Stderr) Run(string[] args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "retailcam.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;

        var limit = timeout ?? TimeSpan.FromMinutes(2);
        using var process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"retailcam {string.Join(' ', args)} did not finish in {limit}.");
        }
        return (process.ExitCode, stdout, stderrTask.Result);
    }

    /// <summary>The JSON object the --json contract puts on the last stdout line.</summary>
    public static System.Text.Json.JsonDocument LastJson(string stdout) =>
        System.Text.Json.JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);

    /// <summary>The stderr lines that start with "error:" (the contract: exactly one on failure).</summary>
    public static IReadOnlyList<string> Errors(string stderr) =>
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
}
