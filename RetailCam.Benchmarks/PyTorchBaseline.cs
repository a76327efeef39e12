using System.Diagnostics;
using System.Text.Json;

namespace RetailCam.Benchmarks;

/// <summary>One run of the PyTorch training-step script: its own timing, after its own warm-up.</summary>
public sealed record PyTorchRun(string TorchVersion, int Threads, long Images, double Seconds);

/// <summary>
/// Runs bench/pytorch_train_step.py with a Python that can import torch (Debian's python3-torch:
/// `apt-get install -y python3-torch`). The script times its own steps, so interpreter start-up and
/// import are not charged to PyTorch.
/// </summary>
public sealed class PyTorchBaseline(string python, string script)
{
    public string Python { get; } = python;

    /// <summary>The first candidate interpreter that imports torch, or null. /usr/bin/python3 is tried too: a pyenv shim on PATH hides Debian's packages.</summary>
    public static PyTorchBaseline? Find(string script)
    {
        if (!File.Exists(script)) return null;
        foreach (var candidate in new[] { "python3", "/usr/bin/python3" })
        {
            try
            {
                var (code, _, _) = Run(candidate, ["-c", "import torch"], TimeSpan.FromSeconds(60));
                if (code == 0) return new PyTorchBaseline(candidate, script);
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under that name.
            }
        }
        return null;
    }

    public PyTorchRun TrainSteps(int batch, int size, int classes, int threads, int steps, int warmUp)
    {
        var (code, stdout, stderr) = Run(Python, [script, "--batch", $"{batch}", "--size", $"{size}", "--classes", $"{classes}",
            "--threads", $"{threads}", "--steps", $"{steps}", "--warmup", $"{warmUp}"], TimeSpan.FromMinutes(10));
        if (code != 0) throw new InvalidOperationException($"{Path.GetFileName(script)} failed ({code}): {stderr.Trim()}");
        var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        using var json = JsonDocument.Parse(last);
        var root = json.RootElement;
        return new PyTorchRun(root.GetProperty("torchVersion").GetString() ?? "", root.GetProperty("threads").GetInt32(),
            (long)root.GetProperty("batch").GetInt32() * root.GetProperty("steps").GetInt32(), root.GetProperty("seconds").GetDouble());
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within {timeout}.");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
