using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Native;

namespace RetailCam.Cli.Commands;

/// <summary>`parity`: the imported TorchSharp ResNet18 against ONNX Runtime on the original file.</summary>
internal static class ParityCommand
{
    public const double DefaultTolerance = 1e-4;

    public static Command Create()
    {
        var json = CliRunner.JsonOption();
        var pretrained = new Option<string?>("--pretrained")
        {
            Description = "Folder holding ResNet18.onnx and ResNetPreprocess.onnx (default: RetailCam:PretrainedFolder, else pretrained/ beside the tool).",
        };
        var runs = new Option<int>("--runs") { Description = "Timed runs per engine after warm-up.", DefaultValueFactory = _ => 10 };
        var host = new CliHost();
        var tolerance = new Option<double>("--tolerance")
        {
            Description = "Largest acceptable absolute difference of the 512-d features.",
            DefaultValueFactory = _ => DefaultTolerance,
        };

        var command = new Command("parity", "Compare the TorchSharp ResNet18 with ONNX Runtime on the same photo-like input: feature difference and time per image.")
        {
            json, pretrained, runs, tolerance,
        };
        host.AddOptionsTo(command);
        command.SetAction((parseResult, cancellationToken) => CliRunner.RunAsync(_ =>
        {
            var runCount = parseResult.GetValue(runs);
            if (runCount < 1) throw new ArgumentException("--runs must be at least 1.");
            var limit = parseResult.GetValue(tolerance);
            using var engine = host.Build(parseResult);
            var environment = engine.Services.GetRequiredService<TorchEnvironment>();
            Console.Error.WriteLine($"parity: loading the pretrained ResNet18 ({environment})");
            using var model = PretrainedResNet18.Load(parseResult.GetValue(pretrained)
                ?? engine.PretrainedFolder());
            Console.Error.WriteLine("parity: running both engines");
            var result = OnnxParityCheck.Run(model, new ParityOptions(Runs: runCount));

            if (parseResult.GetValue(json))
                CliRunner.WriteJson(result);
            else
                Console.Out.WriteLine(Describe(result));

            if (!(result.MaxAbsDiff <= limit))
            {
                Console.Error.WriteLine($"error: TorchSharp and ONNX Runtime features differ by {result.MaxAbsDiff:G3}, more than {limit:G3}");
                return Task.FromResult(1);
            }
            return Task.FromResult(0);
        }, cancellationToken));
        return command;
    }

    private static string Describe(ParityResult r) => string.Create(CultureInfo.InvariantCulture,
        $"TorchSharp vs ONNX Runtime, ResNet18 512-d features: max |diff| {r.MaxAbsDiff:G3} " +
        $"(preprocessing {r.PreprocessingMaxAbsDiff:G3}; {string.Join(", ", r.Stages.Select(s => $"{s.Stage} {s.MaxAbsDiff:G3}"))}); " +
        $"TorchSharp {r.TorchSharpMs:F1} ms/img, ONNX Runtime {r.OnnxRuntimeMs:F1} ms/img " +
        $"(batch 1, median of {r.Runs}, {r.Threads} threads)");
}
