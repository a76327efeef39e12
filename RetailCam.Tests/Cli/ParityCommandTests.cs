using System.Text.Json;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Cli;

/// <summary>The `parity` verb run as a user runs it: a separate process, stdout and stderr read back.</summary>
public class ParityCommandTests
{
    [Fact]
    public void Parity_with_json_prints_max_abs_diff_within_1e_4_and_timings_as_the_last_stdout_line()
    {
        var (exitCode, stdout, stderr) = RunTool("parity", "--json", "--runs", "1");

        Assert.True(exitCode == 0, stderr);
        var last = stdout.TrimEnd().Split('\n')[^1];
        using var json = JsonDocument.Parse(last);
        var root = json.RootElement;
        Assert.InRange(root.GetProperty("maxAbsDiff").GetDouble(), 0, 1e-4);
        Assert.True(root.GetProperty("torchSharpMs").GetDouble() > 0);
        Assert.True(root.GetProperty("onnxRuntimeMs").GetDouble() > 0);
    }

    [Fact]
    public void Parity_without_the_pretrained_files_exits_non_zero_with_one_line_naming_the_file()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"retailcam-missing-{Guid.NewGuid():N}");
        var (exitCode, stdout, stderr) = RunTool("parity", "--json", "--pretrained", missing);

        Assert.NotEqual(0, exitCode);
        var errors = ToolProcess.Errors(stderr);
        Assert.Single(errors);
        Assert.Contains("ResNet18.onnx", errors[0]);
        Assert.DoesNotContain("{", stdout);
    }

    private static (int ExitCode, string Stdout, string Stderr) RunTool(params string[] args) => ToolProcess.Run(args);
}
