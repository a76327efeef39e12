using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Benchmarks;
using RetailCam.Engine.Native;

namespace RetailCam.Cli.Commands;

/// <summary>`bench`: the performance budget's figures, each a ratio measured side by side in this one run.</summary>
internal static class BenchCommand
{
    public static string PyTorchScript => Path.Combine(AppContext.BaseDirectory, "bench", "pytorch_train_step.py");

    public static Command Create()
    {
        var json = CliRunner.JsonOption();
        var quick = new Option<bool>("--quick") { Description = "Fewer rounds and a shorter memory run (a few minutes)." };
        var pretrained = new Option<string?>("--pretrained") { Description = "Folder holding ResNet18.onnx and ResNetPreprocess.onnx (default: RetailCam:PretrainedFolder, else pretrained/ beside the tool)." };
        var host = new CliHost();
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Also write the figures as a Markdown table to this file." };

        var command = new Command("bench", "Measure inference against ONNX Runtime, the training pipeline against a bare loop and PyTorch, FLOP utilisation, memory growth and upload latency.")
        {
            json, quick, pretrained, markdown,
        };
        host.AddOptionsTo(command);
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(_ =>
        {
            using var engine = host.Build(parse);
            var environment = engine.Services.GetRequiredService<TorchEnvironment>();
            var isQuick = parse.GetValue(quick);
            var report = BenchRunner.Run(isQuick ? BenchConfig.Quick : BenchConfig.Full, isQuick, parse.GetValue(pretrained)
                ?? engine.PretrainedFolder(), PyTorchScript,
                environment.Device, line => Console.Error.WriteLine($"bench: {line}"));
            if (parse.GetValue(markdown) is { } file) File.WriteAllText(file.FullName, BenchMarkdown.Table(report));
            if (parse.GetValue(json)) CliRunner.WriteJson(report);
            else Console.Out.WriteLine(BenchMarkdown.Table(report));
            return Task.FromResult(0);
        }, cancellationToken));
        return command;
    }
}
