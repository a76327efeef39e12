using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models.Export;
using RetailCam.Engine.Native;

namespace RetailCam.Cli.Commands;

/// <summary>`export`: a model as an ONNX file that any ONNX runtime can serve, class maps included.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = ModelOption.Create();
        model.Description = "A run folder (its best model), a model folder, or the id of a model or run under the data root (run:ID, model:NAME, or the run id alone).";
        var format = new Option<string>("--format") { Description = "The file format; onnx is the only one.", DefaultValueFactory = _ => OnnxExport.Format };
        var output = new Option<FileInfo>("--out") { Description = "The file to write (its folder is created; written whole or not at all).", Required = true };
        var json = CliRunner.JsonOption();
        var host = new CliHost();
        var command = new Command("export",
            $"Write a model as ONNX (opset {OnnxExport.Opset}): input '{OnnxExport.InputName}' [N,3,H,W] RGB 0–255, outputs '{OnnxExport.LogitsName}' and '{OnnxExport.FeaturesName}' (the CAM activations), categories in the metadata.")
        {
            model, format, output, json,
        };
        host.AddOptionsTo(command);
        command.SetAction((parse, cancellationToken) => CliRunner.RunAsync(_ =>
        {
            var formatName = parse.GetValue(format);
            if (!string.Equals(formatName, OnnxExport.Format, StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--format: export writes onnx only, not '{formatName}'.");
            var target = parse.GetValue(output)!.FullName;
            using var engine = host.Build(parse);
            // The export copies the model to the CPU in float32 whatever the device; the environment still sets up libtorch and its threads.
            engine.Services.GetRequiredService<TorchEnvironment>();
            var folder = ModelLocator.Resolve(parse.GetValue(model)!.ToString(), engine.Services.GetRequiredService<ModelRegistry>());
            Console.Error.WriteLine($"export: {folder} → {target}");
            var result = OnnxExport.WriteFile(folder, target);
            if (parse.GetValue(json))
                CliRunner.WriteJson(new { file = target, bytes = result.Bytes.LongLength, categories = result.Categories, inputSize = result.InputSize, opset = result.Opset });
            else
                Console.Out.WriteLine($"{target}: ONNX opset {result.Opset}, {result.Bytes.LongLength:N0} bytes, {result.Backbone}, {result.Categories.Count} categories, trained at {result.InputSize} px");
            return Task.FromResult(0);
        }, cancellationToken));
        return command;
    }
}
