using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Native;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Benchmarks;

/// <summary>Images/s of every contender at one batch size, all measured in the same interleaved rounds.</summary>
/// <param name="ImagesPerSecond">All images over all timed seconds, per contender.</param>
/// <param name="PerRound">Each round's images/s per contender: ratios are the median of the per-round ratios, with their spread.</param>
public sealed record InferenceAtBatch(int Batch, IReadOnlyDictionary<string, double> ImagesPerSecond, IReadOnlyList<IReadOnlyDictionary<string, double>>? PerRound = null);

/// <param name="Bf16PredictorMaxProbabilityDiff">Largest |p_bf16 − p_fp32| over the predictor's class probabilities on the benchmark photos.</param>
/// <param name="Bf16PredictorTop1Agreement">Share of photos whose top class is the same in bf16 and fp32.</param>
public sealed record InferenceFigures(IReadOnlyList<InferenceAtBatch> Batches, double Bf16FeatureMaxAbsDiff, double Bf16FeatureRelativeError, int Threads,
    double Bf16PredictorMaxProbabilityDiff = double.NaN, double Bf16PredictorTop1Agreement = double.NaN);

/// <summary>
/// ResNet18 at 224²: ONNX Runtime on the shipped file against the same network imported into
/// TorchSharp (<see cref="ResNet18"/> with <see cref="ResNet18Options.ImageNetFeatures"/>, stem to layer4 + GAP: the like-for-like pair), in its
/// plain fp32 form and in the variants worth trying (channels-last, bf16), and the
/// <see cref="Predictor"/> end to end on its served CAM network (trunk to layer3 + CAM head, plus
/// tensor conversion, class maps and boxes: a different network, reported beside, not as the ratio).
/// </summary>
public static class InferenceBenchmark
{
    public const string Ort = "onnxRuntime";
    public const string Features = "torchSharpFp32";
    public const string FeaturesChannelsLast = "torchSharpChannelsLast";
    public const string FeaturesBf16 = "torchSharpBf16ChannelsLast";
    public const string FeaturesBf16Unfolded = "torchSharpBf16ChannelsLastUnfolded";
    public const string FeaturesBf16NchwWeights = "torchSharpBf16ChannelsLastNchwWeights";
    public const string PredictorDefault = "predictor";
    public const string PredictorChannelsLast = "predictorChannelsLast";
    public const string PredictorBf16 = "predictorBf16ChannelsLast";

    /// <summary>The predictor with RetailCam:Inference:Runtime = onnxruntime: the same served network and work, its forward in ONNX Runtime (fp32).</summary>
    public const string PredictorOnnxRuntime = "predictorOnnxRuntime";

    /// <param name="model">Imported on the device the TorchSharp contenders and the predictors run on; ONNX Runtime stays on the CPU.</param>
    public static InferenceFigures Run(PretrainedResNet18 model, string predictorModelFolder, IReadOnlyList<int> batches, int rounds, int imagesPerRound, bool bf16, Action<string>? log)
    {
        var device = model.Device;
        var threads = get_num_threads();
        // Idle threads that sleep: the app never hosts both runtimes busy at once, so the bench must not either.
        using var sessionOptions = OnnxRuntimeSessionOptions.Create(threads);
        using var session = new InferenceSession(WithFreeBatch(model.Graph.File.Model).ToByteArray(), sessionOptions);
        var inputName = session.InputNames[0];
        var outputName = session.OutputNames[0];

        // The channels-last contenders run copies as the predictor serves them (BatchNorm folded, weights stored
        // channels-last); two bf16 copies without one or both of those steps show what each gains.
        using var foldedFeatures = ServingCopy(model.Features, foldBatchNorm: true, bf16: false, channelsLastWeights: false);
        using var servedFp32 = ServingCopy(model.Features, foldBatchNorm: true, bf16: false, channelsLastWeights: true);
        using var bf16Features = bf16 ? ServingCopy(model.Features, foldBatchNorm: true, bf16: true, channelsLastWeights: true) : null;
        using var bf16NchwWeights = bf16 ? ServingCopy(model.Features, foldBatchNorm: true, bf16: true, channelsLastWeights: false) : null;
        using var bf16Unfolded = bf16 ? ServingCopy(model.Features, foldBatchNorm: false, bf16: true, channelsLastWeights: false) : null;
        using var plain = Predictor.ForFolder(predictorModelFolder, new PredictorOptions { ChannelsLast = false, Precision = InferencePrecision.Float32 }, device);
        using var channelsLast = Predictor.ForFolder(predictorModelFolder, new PredictorOptions { ChannelsLast = true, Precision = InferencePrecision.Float32 }, device);
        using var reduced = bf16 ? Predictor.ForFolder(predictorModelFolder, new PredictorOptions { ChannelsLast = true, Precision = InferencePrecision.BFloat16 }, device) : null;
        // ONNX Runtime runs on the CPU only here: on a GPU the pair would compare devices, not runtimes.
        using var onnxRuntimePredictor = device.type == DeviceType.CPU
            ? Predictor.ForFolder(predictorModelFolder, new PredictorOptions { Runtime = InferenceRuntime.OnnxRuntime }, device) : null;
        double probabilityDiff = double.NaN, agreement = double.NaN;

        var results = new List<InferenceAtBatch>();
        double bf16Max = double.NaN, bf16Rel = double.NaN;
        foreach (var batch in batches)
        {
            using var scope = NewDisposeScope();
            var rgb = cat(Enumerable.Range(0, batch).Select(i => SyntheticPhoto.Create(224, 11 + i)).ToArray(), 0);
            Tensor preprocessed;
            using (no_grad()) preprocessed = model.Normalization.call(rgb.to(device)).contiguous();
            var preprocessedChannelsLast = TensorLayout.ToChannelsLast(preprocessed);
            // ONNX Runtime is the CPU reference: it reads the same preprocessed batch from host memory.
            var input = preprocessed.cpu().data<float>().ToArray();
            var photos = Enumerable.Range(0, batch).Select(i => ImageTensors.ToImage(rgb[i])).ToList();
            var shape = preprocessed.shape;
            var repeats = Math.Max(1, imagesPerRound / batch);

            if (bf16Features is not null && batch == batches.Max())
            {
                (bf16Max, bf16Rel) = CompareBf16(model.Features, bf16Features, preprocessed);
                (probabilityDiff, agreement) = ComparePredictors(channelsLast, reduced!, photos);
            }

            var contenders = new List<Contender>
            {
                Contender.Timed(Ort, () =>
                {
                    for (var r = 0; r < repeats; r++)
                    {
                        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
                        using var runOptions = new RunOptions();
                        using var outputs = session.Run(runOptions, [inputName], [value], [outputName]);
                    }
                    return (long)repeats * batch;
                }),
                Contender.Timed(Features, () => Forward(foldedFeatures, preprocessed, repeats, batch)),
                Contender.Timed(FeaturesChannelsLast, () => Forward(servedFp32, preprocessedChannelsLast, repeats, batch)),
                Contender.Timed(PredictorDefault, () => Predict(plain, photos, repeats)),
                Contender.Timed(PredictorChannelsLast, () => Predict(channelsLast, photos, repeats)),
            };
            if (onnxRuntimePredictor is not null) contenders.Add(Contender.Timed(PredictorOnnxRuntime, () => Predict(onnxRuntimePredictor, photos, repeats)));
            if (bf16Features is not null)
            {
                var bf16Input = preprocessedChannelsLast.to_type(ScalarType.BFloat16);
                contenders.Add(Contender.Timed(FeaturesBf16, () => Forward(bf16Features, bf16Input, repeats, batch)));
                contenders.Add(Contender.Timed(FeaturesBf16Unfolded, () => Forward(bf16Unfolded!, bf16Input, repeats, batch)));
                contenders.Add(Contender.Timed(FeaturesBf16NchwWeights, () => Forward(bf16NchwWeights!, bf16Input, repeats, batch)));
                contenders.Add(Contender.Timed(PredictorBf16, () => Predict(reduced!, photos, repeats)));
            }
            log?.Invoke($"inference, batch {batch}: {contenders.Count} contenders × {rounds} rounds of {repeats * batch} images");
            var measured = Interleaved.MeasureRounds(contenders, rounds, log: log);
            results.Add(new InferenceAtBatch(batch, measured.Rates, measured.PerRound));
            foreach (var photo in photos) photo.Dispose();
        }
        return new InferenceFigures(results, bf16Max, bf16Rel, threads, probabilityDiff, agreement);
    }

    private static long Forward(nn.Module<Tensor, Tensor> network, Tensor input, int repeats, int batch)
    {
        using var mode = inference_mode();
        for (var r = 0; r < repeats; r++)
        {
            using var scope = NewDisposeScope();
            network.call(input);
        }
        BenchDevice.Synchronize(input.device);
        return (long)repeats * batch;
    }

    private static long Predict(Predictor predictor, IReadOnlyList<Image<Rgb24>> photos, int repeats)
    {
        for (var r = 0; r < repeats; r++)
        {
            var tasks = photos.Select((p, i) => predictor.PredictAsync(p, $"bench-{i}")).ToArray();
            Task.WaitAll(tasks);
        }
        return (long)repeats * photos.Count;
    }

    /// <summary>
    /// A copy of the network on its device, as the predictor serves its own: BatchNorm folded (in float32), then, on CPUs
    /// with native bf16 dot products, weights and activations in bfloat16, and the weights channels-last.
    /// </summary>
    public static ResNet18 ServingCopy(ResNet18 source, bool foldBatchNorm, bool bf16, bool channelsLastWeights)
    {
        var copy = new ResNet18(source.Options, source.Preprocessing);
        // On the source's device first: load_state_dict copies into the tensors the copy already holds.
        copy.to(source.parameters().First().device);
        copy.load_state_dict(source.state_dict());
        copy.eval();
        if (foldBatchNorm) copy.FoldBatchNorm();
        if (bf16) copy.to(ScalarType.BFloat16);
        if (channelsLastWeights) ChannelsLastWeights.Apply(copy);
        return copy;
    }

    private static (double MaxAbs, double Relative) CompareBf16(ResNet18 fp32, ResNet18 bf16, Tensor input)
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var reference = fp32.call(input);
        var approx = bf16.call(TensorLayout.ToChannelsLast(input).to_type(ScalarType.BFloat16)).to_type(ScalarType.Float32);
        var diff = approx - reference;
        return (diff.abs().max().item<float>(), (diff.norm() / reference.norm()).item<float>());
    }

    private static (double MaxDiff, double Agreement) ComparePredictors(Predictor fp32, Predictor bf16, IReadOnlyList<Image<Rgb24>> photos)
    {
        var reference = photos.Select((p, i) => fp32.PredictAsync(p, $"p{i}").GetAwaiter().GetResult()).ToList();
        var approx = photos.Select((p, i) => bf16.PredictAsync(p, $"p{i}").GetAwaiter().GetResult()).ToList();
        var maxDiff = reference.Zip(approx).Max(pair => pair.First.Probabilities.Zip(pair.Second.Probabilities).Max(p => Math.Abs(p.First - p.Second)));
        var same = reference.Zip(approx).Count(pair => pair.First.Top[0].Category == pair.Second.Top[0].Category);
        return (maxDiff, (double)same / photos.Count);
    }

    /// <summary>The CNTK export fixes the batch at 1; a symbolic batch dimension lets ONNX Runtime run batches too.</summary>
    public static ModelProto WithFreeBatch(ModelProto original)
    {
        var model = original.Clone();
        var weights = model.Graph.Initializer.Select(i => i.Name).ToHashSet();
        foreach (var value in model.Graph.Input.Where(i => !weights.Contains(i.Name)).Concat(model.Graph.Output))
        {
            var dims = value.Type?.TensorType?.Shape?.Dim;
            if (dims is { Count: > 0 }) dims[0] = new TensorShapeProto.Types.Dimension { DimParam = "batch" };
        }
        model.Graph.ValueInfo.Clear();
        return model;
    }
}
