using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using RetailCam.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Import;

/// <summary>How far one stage's output is from ONNX Runtime's.</summary>
public sealed record StageParity(string Stage, double MaxAbsDiff);

/// <summary>
/// The outcome of <see cref="OnnxParityCheck.Run"/>. Times are per image at batch 1, the median of
/// <see cref="Runs"/> timed runs after warm-up, both engines on <see cref="Threads"/> intra-op threads.
/// </summary>
public sealed record ParityResult(
    double MaxAbsDiff,
    double TorchSharpMs,
    double OnnxRuntimeMs,
    double PreprocessingMaxAbsDiff,
    IReadOnlyList<StageParity> Stages,
    int Threads,
    int Runs);

public sealed record ParityOptions(int WarmUpRuns = 3, int Runs = 10, int Seed = 7, bool CompareStages = true);

/// <summary>
/// Runs one photo-like image through the imported TorchSharp ResNet18 and through ONNX Runtime on
/// the original file, and compares the 512-d features (and, optionally, the stem and every stage).
/// Preprocessing is compared too: our <see cref="InputNormalization"/> against ResNetPreprocess.onnx.
/// </summary>
public static class OnnxParityCheck
{
    private const int ImageSize = 224;

    public static ParityResult Run(PretrainedResNet18 model, ParityOptions? options = null)
    {
        options ??= new ParityOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Runs, 1);
        var threads = torch.get_num_threads();
        using var sessionOptions = OnnxRuntimeSessionOptions.Create(threads);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var rgb = SyntheticPhoto.Create(ImageSize, options.Seed);
        var preprocessed = model.Normalization.call(rgb);
        var inputShape = preprocessed.shape;

        double preprocessingDiff;
        using (var preprocessing = new InferenceSession(model.Files.PreprocessingPath, sessionOptions))
        {
            var reference = RunOnce(preprocessing, rgb.data<float>().ToArray(), inputShape, preprocessing.OutputNames[0]);
            preprocessingDiff = MaxAbsDiff(preprocessed, reference[0]);
        }

        model.Features.eval();
        var torchFeatures = model.Features.call(preprocessed);
        var torchMs = MedianMs(options, () =>
        {
            using var inner = NewDisposeScope();
            model.Features.call(preprocessed);
        });

        var input = preprocessed.data<float>().ToArray();
        using var session = new InferenceSession(model.Files.ModelPath, sessionOptions);
        var outputName = model.Graph.OutputName;
        var onnxFeatures = RunOnce(session, input, inputShape, outputName)[0];
        var onnxMs = MedianMs(options, () => RunOnce(session, input, inputShape, outputName));

        var stages = options.CompareStages ? CompareStages(model, preprocessed, input, sessionOptions) : [];
        return new ParityResult(MaxAbsDiff(torchFeatures, onnxFeatures), torchMs, onnxMs, preprocessingDiff, stages, threads, options.Runs);
    }

    /// <summary>
    /// Adds the stem's and each stage's last tensor as extra graph outputs, so one ONNX Runtime run
    /// yields them all; a separate session, so the timed one runs the file unchanged.
    /// </summary>
    private static List<StageParity> CompareStages(PretrainedResNet18 model, Tensor preprocessed, float[] input, SessionOptions sessionOptions)
    {
        var graph = model.Graph;
        string[] names = [graph.StemOutputName, .. graph.Stages.Select(s => s[^1].OutputName)];
        var extended = model.Graph.File.Model.Clone();
        foreach (var name in names)
        {
            extended.Graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }
        using var session = new InferenceSession(extended.ToByteArray(), sessionOptions);
        var reference = RunOnce(session, input, preprocessed.shape, names);
        var ours = model.Features.StageOutputs(preprocessed);
        string[] labels = ["stem", "layer1", "layer2", "layer3", "layer4"];
        return labels.Select((label, i) => new StageParity(label, MaxAbsDiff(ours[i], reference[i]))).ToList();
    }

    private static float[][] RunOnce(InferenceSession session, float[] input, long[] shape, params string[] outputNames)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [session.InputNames[0]], [value], outputNames);
        return outputs.Select(o => o.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }

    private static double MaxAbsDiff(Tensor ours, float[] reference)
    {
        var values = ours.contiguous().data<float>().ToArray();
        if (values.Length != reference.Length)
            throw new InvalidOperationException($"TorchSharp gave {values.Length} values, ONNX Runtime {reference.Length}.");
        var max = 0.0;
        for (var i = 0; i < values.Length; i++) max = Math.Max(max, Math.Abs(values[i] - reference[i]));
        return max;
    }

    private static double MedianMs(ParityOptions options, Action run)
    {
        for (var i = 0; i < options.WarmUpRuns; i++) run();
        var times = new double[options.Runs];
        for (var i = 0; i < options.Runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return options.Runs % 2 == 1 ? times[options.Runs / 2] : (times[options.Runs / 2 - 1] + times[options.Runs / 2]) / 2;
    }
}
