using Microsoft.ML.OnnxRuntime;
using RetailCam.Engine.Models.Export;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Cli;

/// <summary>The `export` verb as a user runs it: a separate process on a tiny model, the file read back by ONNX Runtime.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("retailcam-export-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private Dictionary<string, string> Environment => new() { ["RetailCam__DataRoot"] = Path.Combine(root, "data") };

    [Fact]
    public void Export_writes_an_onnx_file_that_onnx_runtime_runs_and_ends_with_the_json_line()
    {
        var model = TinyModels.Save(Path.Combine(root, "model"), seed: 31);
        var target = Path.Combine(root, "out", "nested", "tiny.onnx");

        var (exit, stdout, stderr) = ToolProcess.Run(["export", "--model", model, "--format", "onnx", "--out", target, "--json", "--device", "cpu"], Environment);

        Assert.True(exit == 0, stderr);
        using var json = ToolProcess.LastJson(stdout);
        var result = json.RootElement;
        Assert.Equal(target, result.GetProperty("file").GetString());
        Assert.Equal(new FileInfo(target).Length, result.GetProperty("bytes").GetInt64());
        Assert.Equal(TinyModels.Categories, result.GetProperty("categories").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(64, result.GetProperty("inputSize").GetInt32());
        Assert.Equal(OnnxExport.Opset, result.GetProperty("opset").GetInt32());
        // Written beside under a temporary name and renamed: nothing else is left in the folder.
        Assert.Equal([target], Directory.GetFiles(Path.GetDirectoryName(target)!));

        using var session = new InferenceSession(target);
        var images = new float[2 * 3 * 64 * 64];
        for (var i = 0; i < images.Length; i++) images[i] = i % 251;
        using var input = OrtValue.CreateTensorValueFromMemory(images, [2, 3, 64, 64]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [OnnxExport.InputName], [input], [OnnxExport.LogitsName, OnnxExport.FeaturesName]);
        Assert.Equal([2L, TinyModels.Categories.Length], outputs[0].GetTensorTypeAndShape().Shape);
        Assert.Equal([2L, 8, 4, 4], outputs[1].GetTensorTypeAndShape().Shape);
        Assert.All(outputs[0].GetTensorDataAsSpan<float>().ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Export_takes_a_run_id_of_the_data_root_and_prints_one_line_without_json()
    {
        TinyModels.Save(Path.Combine(root, "data", "runs", "first-run", "model"), seed: 32);
        var target = Path.Combine(root, "run.onnx");

        var (exit, stdout, stderr) = ToolProcess.Run(["export", "--model", "first-run", "--out", target], Environment);

        Assert.True(exit == 0, stderr);
        var line = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(target, line, StringComparison.Ordinal);
        Assert.Contains("opset 17", line, StringComparison.Ordinal);
        using var session = new InferenceSession(target);
        Assert.Equal("RetailCam", session.ModelMetadata.ProducerName);
    }

    [Fact]
    public void Export_refuses_another_format_with_exit_code_2_and_one_error_line_and_writes_nothing()
    {
        var model = TinyModels.Save(Path.Combine(root, "model"), seed: 33);
        var target = Path.Combine(root, "tiny.tflite");

        var (exit, stdout, stderr) = ToolProcess.Run(["export", "--model", model, "--format", "tflite", "--out", target, "--json"], Environment);

        Assert.Equal(2, exit);
        var error = Assert.Single(ToolProcess.Errors(stderr));
        Assert.Contains("tflite", error, StringComparison.Ordinal);
        Assert.Contains("onnx", error, StringComparison.Ordinal);
        Assert.DoesNotContain("{", stdout);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void Export_of_a_model_that_does_not_exist_exits_1_with_one_error_line()
    {
        var (exit, _, stderr) = ToolProcess.Run(["export", "--model", "no-such-run", "--out", Path.Combine(root, "x.onnx")], Environment);

        Assert.Equal(1, exit);
        Assert.Contains("no-such-run", Assert.Single(ToolProcess.Errors(stderr)), StringComparison.Ordinal);
    }
}
