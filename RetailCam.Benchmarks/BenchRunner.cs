using System.Diagnostics;
using System.Runtime.InteropServices;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Native;
using RetailCam.Engine.Training;
using static TorchSharp.torch;

namespace RetailCam.Benchmarks;

/// <summary>How much of each measurement to do; <see cref="Quick"/> keeps a whole run within minutes.</summary>
public sealed record BenchConfig
{
    public IReadOnlyList<int> InferenceBatches { get; init; } = [1, 16];
    /// <summary>Rounds per batch size: the ratios are their medians, so an odd count of at least five keeps one noisy round out of the figure.</summary>
    public int InferenceRounds { get; init; } = 7;
    public int InferenceImagesPerRound { get; init; } = 64;
    public bool TryBf16 { get; init; } = true;

    /// <summary>Steps per timed training round: the default snapshot interval, so each round holds one snapshot as a long run does.</summary>
    public int TrainingStepsPerRound { get; init; } = new TrainingOptions().SnapshotEverySteps;
    public int TrainingRounds { get; init; } = 4;

    /// <summary>Untimed steps each training contender runs first (kernels picked, buffers allocated, loader files cached).</summary>
    public int TrainingWarmUpSteps { get; init; } = 10;
    public TrainingOptions Training { get; init; } = new();
    public int LoaderWorkers { get; init; } = TrainingJobSpec.DefaultLoaderWorkers;
    public int ImagesPerClass { get; init; } = 440;
    public int Classes { get; init; } = 10;
    public int SourceImageSize { get; init; } = 80;

    public long RssFirstStep { get; init; } = 100;
    public long RssLastStep { get; init; } = 2000;
    public int LatencyRuns { get; init; } = 30;
    public int CataloguePhotos { get; init; } = 96;
    public int CatalogueRounds { get; init; } = 5;
    public int MatMulSize { get; init; } = 2048;

    public static BenchConfig Full { get; } = new();

    public static BenchConfig Quick { get; } = new()
    {
        InferenceRounds = 3,
        InferenceImagesPerRound = 16,
        // Batch 16 rather than the default 64, so the rounds fit the quick run's minutes on a 2-core machine.
        Training = new TrainingOptions { BatchSize = 16 },
        TrainingRounds = 3,
        TrainingWarmUpSteps = 5,
        ImagesPerClass = 120,
        RssFirstStep = 50,
        RssLastStep = 150,
        LatencyRuns = 10,
        CataloguePhotos = 32,
        CatalogueRounds = 3,
    };
}

/// <summary>Every figure of one benchmark run; ratios are RetailCam over the reference, from side-by-side measurements.</summary>
public sealed record BenchReport
{
    public required double InferenceVsOrt { get; init; }
    public required double PipelineVsBareLoop { get; init; }
    public double? TrainingVsPyTorch { get; init; }
    public required double SnapshotOverheadPct { get; init; }
    public required double FlopUtilisation { get; init; }
    public required double RssGrowthPct { get; init; }
    public required double UploadToOverlayMs { get; init; }
    public required double ForwardMs { get; init; }

    /// <summary>`retailcam catalogue`'s images/s over the predictor's batched predictions of the same photos in memory; the lower of the photo kinds.</summary>
    public required double CatalogueVsBatchedForward { get; init; }

    public required InferenceDetail Inference { get; init; }
    public required TrainingDetail Training { get; init; }
    public required FlopDetail Flops { get; init; }
    public required MemoryFigures Memory { get; init; }
    public required LatencyFigures Latency { get; init; }
    public required CatalogueFigures Catalogue { get; init; }
    public required MachineDetail Machine { get; init; }
    public required bool Quick { get; init; }
    public required double Seconds { get; init; }
}

/// <param name="ImagesPerSecond">Per batch size, per contender.</param>
public sealed record InferenceDetail(
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> ImagesPerSecond,
    IReadOnlyDictionary<string, double> VsOrtPerBatch,
    IReadOnlyDictionary<string, double> PredictorVsOrtPerBatch,
    IReadOnlyDictionary<string, double> Fp32BestVsOrtPerBatch,
    string RatioContender,
    double Bf16FeatureMaxAbsDiff,
    double Bf16FeatureRelativeError,
    double Bf16PredictorMaxProbabilityDiff,
    double Bf16PredictorTop1Agreement,
    string Note,
    IReadOnlyDictionary<string, double>? PredictorOnnxRuntimeVsTorchPerBatch = null)
{
    /// <summary>Per batch, the same-network ratio's lowest, median (<see cref="VsOrtPerBatch"/>) and highest round.</summary>
    public IReadOnlyDictionary<string, RatioSpread>? VsOrtSpreadPerBatch { get; init; }

    /// <summary>Per batch, the best fp32 layout over ONNX Runtime: lowest, median (<see cref="Fp32BestVsOrtPerBatch"/>) and highest round.</summary>
    public IReadOnlyDictionary<string, RatioSpread>? Fp32BestVsOrtSpreadPerBatch { get; init; }
}

/// <param name="ImagesPerSecond">All images over all timed seconds, per contender.</param>
/// <param name="PerRound">Each round's images/s: the ratios are medians of the per-round ratios.</param>
/// <param name="PipelineVsNoSnapshots">Median per-round ratio of the pipeline with and without snapshots (a cross-check of the snapshot cost, noisier than the timed one).</param>
/// <param name="OtherLoaderWorkers">The loader worker count tried beside the default.</param>
/// <param name="OtherLoaderWorkersVsDefault">Median per-round ratio of the pipeline with that count over the default.</param>
/// <param name="SnapshotOverheadFromThroughputPct">The snapshot overhead from the two pipelines' total throughputs.</param>
/// <param name="SnapshotSeconds">Time the timed snapshots took (training thread + their share of the writer).</param>
public sealed record TrainingDetail(IReadOnlyDictionary<string, double> ImagesPerSecond, IReadOnlyList<IReadOnlyDictionary<string, double>> PerRound,
    double PipelineVsNoSnapshots, int OtherLoaderWorkers, double OtherLoaderWorkersVsDefault, double SnapshotOverheadFromThroughputPct, double SnapshotSeconds, int Batch, int ImageSize, int StepsPerRound, int Rounds, int LoaderWorkers,
    string? PyTorchVersion, string? PyTorchMissingReason)
{
    /// <summary>The per-round ratios behind <see cref="BenchReport.PipelineVsBareLoop"/>: lowest, median, highest.</summary>
    public RatioSpread? PipelineVsBareLoopSpread { get; init; }

    /// <summary>The pipeline decoding every photo every time (a run's first epoch; every epoch before the cache) over the bare loop.</summary>
    public double? PipelineNoCacheVsBareLoop { get; init; }

    /// <summary>What the decoded-photo cache held for the timed rounds: the whole synthetic catalogue, when it fits.</summary>
    public int CachedPhotos { get; init; }
    public long CachedBytes { get; init; }
}

/// <param name="PeakGflops">The peak <see cref="Contender"/> is held against: bf16 matmul for a bf16 network, fp32 otherwise.</param>
public sealed record FlopDetail(double AchievedGflops, double PeakGflops, int MatMulSize, string Contender, double GflopPerImage,
    double Fp32PeakGflops, double Bf16PeakGflops, double Fp32AchievedGflops, double Fp32Utilisation, string Fp32Contender);

/// <param name="Device">The torch device the TorchSharp contenders ran on ("cpu", "cuda:0"); ONNX Runtime and PyTorch always ran on the CPU.</param>
public sealed record MachineDetail(string Cpu, int Cores, int TorchThreads, string Device, string Os, string Dotnet, string LibTorch, string OnnxRuntime);

/// <summary>Runs every measurement of `retailcam bench` in one process and assembles the figures.</summary>
public static class BenchRunner
{
    public const string Pipeline = "pipeline";
    public const string PipelineNoSnapshots = "pipelineNoSnapshots";
    public const string PipelineOtherWorkers = "pipelineOtherLoaderWorkers";

    /// <summary>The pipeline decoding every photo every time: a run's first epoch, and every epoch before the decoded-photo cache.</summary>
    public const string PipelineNoCache = "pipelineNoCache";
    public const string Bare = "bareLoop";
    public const string PyTorch = "pyTorch";

    /// <param name="device">Every network, predictor and tensor of RetailCam's own contenders goes here; the references stay on the CPU.</param>
    public static BenchReport Run(BenchConfig config, bool quick, string? pretrainedFolder, string pythonScript, Device device, Action<string> log)
    {
        var clock = Stopwatch.StartNew();
        var work = Directory.CreateTempSubdirectory("retailcam-bench-");
        try
        {
            var threads = get_num_threads();
            log($"machine: {Environment.ProcessorCount} cores, libtorch {threads} threads, device {TorchEnvironment.NameOf(device)}");

            var flopsPeak = PeakFlops.MeasureGflops(device, config.MatMulSize);
            log($"fp32 matmul {config.MatMulSize}²: {flopsPeak:F0} GFLOP/s");

            using var pretrained = PretrainedResNet18.Load(pretrainedFolder, device: device);
            var modelFolder = Path.Combine(work.FullName, "model");
            var categories = Enumerable.Range(0, config.Classes).Select(c => $"Group{c % 3}/Class{c}").ToList();
            // Built on the CPU only to be written out: the predictors load it from the folder onto the device.
            using (var served = CamNetworkFactory.CreatePretrainedResNet18(config.Classes, pretrainedFolder))
                ModelFolder.Save(modelFolder, served, ModelManifest.Describe(served, categories, 224));

            var inference = InferenceBenchmark.Run(pretrained, modelFolder, config.InferenceBatches, config.InferenceRounds, config.InferenceImagesPerRound, config.TryBf16, log);
            var defaults = new PredictorOptions();
            var inferenceDetail = DescribeInference(inference, defaults.ChannelsLast, defaults.UsesBFloat16);
            var largest = inference.Batches.OrderBy(b => b.Batch).Last();
            var achieved = BenchArithmetic.Gflops(largest.ImagesPerSecond[inferenceDetail.RatioContender]);
            // Peak again after the inference work, best of both: a neighbour's burst must not lower the ceiling.
            flopsPeak = Math.Max(flopsPeak, PeakFlops.MeasureGflops(device, config.MatMulSize));
            // A bf16 network is held against the bf16 peak (about twice fp32's where the CPU has native bf16).
            var bf16Peak = Math.Max(PeakFlops.MeasureGflops(device, config.MatMulSize, dtype: ScalarType.BFloat16), PeakFlops.MeasureGflops(device, config.MatMulSize, dtype: ScalarType.BFloat16));
            var ratioIsBf16 = inferenceDetail.RatioContender == InferenceBenchmark.FeaturesBf16;
            var fp32Contender = largest.ImagesPerSecond[InferenceBenchmark.FeaturesChannelsLast] > largest.ImagesPerSecond[InferenceBenchmark.Features]
                ? InferenceBenchmark.FeaturesChannelsLast : InferenceBenchmark.Features;
            var fp32Achieved = BenchArithmetic.Gflops(largest.ImagesPerSecond[fp32Contender]);
            log($"peaks: fp32 {flopsPeak:F0}, bf16 {bf16Peak:F0} GFLOP/s");

            LatencyFigures latency;
            CatalogueFigures catalogue;
            using (var predictor = Predictor.ForFolder(modelFolder, defaults, device))
            {
                latency = LatencyBenchmark.Measure(predictor, defaults, modelFolder, LatencyBenchmark.SyntheticUpload(), config.LatencyRuns);
                log($"upload → overlay {latency.UploadToOverlayMs:F1} ms, forward {latency.ForwardMs:F1} ms");
                catalogue = CatalogueBenchmark.Measure(predictor, new ImageFileDecoder(), work.FullName, config.CataloguePhotos, config.CatalogueRounds, log);
            }
            log("catalogue vs batched predictions: " + string.Join(", ", catalogue.Kinds.Select(k => $"{k.Kind} {k.CatalogueVsBatchedPredictions:F2}")));

            log($"writing a synthetic catalogue ({config.Classes} × {config.ImagesPerClass} PNGs)");
            var data = SyntheticCatalogue.Write(Path.Combine(work.FullName, "catalogue"), config.Classes, config.ImagesPerClass, config.SourceImageSize);
            using var training = new TrainingBenchmark(data, Path.Combine(work.FullName, "runs"), config.Training, config.LoaderWorkers, pretrainedFolder, device);
            using var bare = new BareTrainingLoop(CamNetworkFactory.CreatePretrainedResNet18(training.Classes, pretrainedFolder, device: device), config.Training, training.Classes, device);
            var steps = config.TrainingStepsPerRound;
            double snapshotSeconds = 0, pipelineSeconds = 0;
            var contenders = new List<Contender>
            {
                new(Pipeline, () =>
                {
                    var (round, snapshotTime) = training.PipelineRoundWithSnapshots(steps, config.Training.SnapshotEverySteps);
                    snapshotSeconds += snapshotTime;
                    pipelineSeconds += round.Seconds;
                    return round;
                }),
                new(PipelineNoSnapshots, () => training.PipelineRound(steps, 0)),
                new(PipelineNoCache, () => training.PipelineRound(steps, config.Training.SnapshotEverySteps, decodedCache: false)),
                // The loader worker count that is not the default (one where it is two, else two), beside it.
                new(PipelineOtherWorkers, () => training.PipelineRound(steps, config.Training.SnapshotEverySteps, loaderWorkers: OtherWorkers(config))),
                Contender.Timed(Bare, () => bare.Steps(steps)),
            };
            var python = PyTorchBaseline.Find(pythonScript);
            string? pyTorchVersion = null;
            if (python is not null)
            {
                contenders.Add(new(PyTorch, () =>
                {
                    var run = python.TrainSteps(config.Training.BatchSize, config.Training.ImageSize, training.Classes, threads, steps, warmUp: 3);
                    pyTorchVersion = run.TorchVersion;
                    return new RoundResult(run.Images, run.Seconds);
                }));
            }
            log($"training: {contenders.Count} contenders × {config.TrainingRounds} rounds of {steps} steps, batch {config.Training.BatchSize} at {config.Training.ImageSize}²");
            training.FillCache();
            log($"decoded-photo cache: {training.CacheFill.Photos} photos, {training.CacheFill.Bytes / 1e6:F0} MB");
            training.PipelineRound(config.TrainingWarmUpSteps, config.Training.SnapshotEverySteps);
            bare.Steps(config.TrainingWarmUpSteps);
            var measured = Interleaved.MeasureRounds(contenders, config.TrainingRounds, warmUpRounds: 0, log);
            var rates = measured.Rates;

            log($"memory: RSS at steps {config.RssFirstStep} and {config.RssLastStep}");
            var memory = training.Memory(config.RssFirstStep, config.RssLastStep);
            log($"RSS {memory.FirstBytes / 1e6:F0} MB → {memory.LastBytes / 1e6:F0} MB");

            // On a GPU, inferenceVsOrt and trainingVsPyTorch compare that device against CPU references: they
            // then measure what the device buys on this machine, not the framework against the reference.
            return new BenchReport
            {
                InferenceVsOrt = inferenceDetail.VsOrtPerBatch.Values.Min(),
                PipelineVsBareLoop = measured.MedianRatio(Pipeline, Bare),
                TrainingVsPyTorch = rates.ContainsKey(PyTorch) ? measured.MedianRatio(Bare, PyTorch) : null,
                SnapshotOverheadPct = BenchArithmetic.ShareOverheadPct(snapshotSeconds, pipelineSeconds),
                FlopUtilisation = BenchArithmetic.Utilisation(achieved, ratioIsBf16 ? bf16Peak : flopsPeak),
                RssGrowthPct = memory.GrowthPct,
                UploadToOverlayMs = latency.UploadToOverlayMs,
                ForwardMs = latency.ForwardMs,
                CatalogueVsBatchedForward = catalogue.Kinds.Min(k => k.CatalogueVsBatchedPredictions),
                Catalogue = catalogue,
                Inference = inferenceDetail,
                Training = new TrainingDetail(rates, measured.PerRound, measured.MedianRatio(Pipeline, PipelineNoSnapshots), OtherWorkers(config), measured.MedianRatio(PipelineOtherWorkers, Pipeline),
                    BenchArithmetic.OverheadPct(rates[Pipeline], rates[PipelineNoSnapshots]), snapshotSeconds, config.Training.BatchSize, config.Training.ImageSize, steps, config.TrainingRounds, config.LoaderWorkers,
                    pyTorchVersion, python is null ? "no Python found that can `import torch` (apt-get install -y python3-torch)" : null)
                {
                    PipelineVsBareLoopSpread = BenchArithmetic.Spread(measured.PerRound.Select(r => BenchArithmetic.Ratio(r[Pipeline], r[Bare])).ToList()),
                    PipelineNoCacheVsBareLoop = measured.MedianRatio(PipelineNoCache, Bare),
                    CachedPhotos = training.CacheFill.Photos,
                    CachedBytes = training.CacheFill.Bytes,
                },
                Flops = new FlopDetail(achieved, ratioIsBf16 ? bf16Peak : flopsPeak, config.MatMulSize, inferenceDetail.RatioContender + $" batch {largest.Batch}", BenchArithmetic.ResNet18GflopPerImage224,
                    flopsPeak, bf16Peak, fp32Achieved, BenchArithmetic.Utilisation(fp32Achieved, flopsPeak), fp32Contender),
                Memory = memory,
                Latency = latency,
                Machine = Machine(threads, device),
                Quick = quick,
                Seconds = clock.Elapsed.TotalSeconds,
            };
        }
        finally
        {
            try { work.Delete(recursive: true); } catch (IOException) { }
        }
    }

    public static int OtherWorkers(BenchConfig config) => config.LoaderWorkers == 1 ? 2 : 1;

    /// <summary>
    /// The honest ratio compares the same network: our ResNet18 features (in the layout the predictor
    /// is configured to use) against ONNX Runtime on the file it was imported from.
    /// </summary>
    public static InferenceDetail DescribeInference(InferenceFigures figures, bool channelsLast, bool bf16 = false)
    {
        var ours = bf16 ? InferenceBenchmark.FeaturesBf16 : channelsLast ? InferenceBenchmark.FeaturesChannelsLast : InferenceBenchmark.Features;
        var predictor = bf16 ? InferenceBenchmark.PredictorBf16 : channelsLast ? InferenceBenchmark.PredictorChannelsLast : InferenceBenchmark.PredictorDefault;
        var perBatch = figures.Batches.ToDictionary(b => $"batch{b.Batch}", b => (IReadOnlyDictionary<string, double>)b.ImagesPerSecond);
        // Each ratio is the median of the rounds' own ratios (both contenders of a round met the same machine), with the rounds' spread.
        var vsOrt = figures.Batches.ToDictionary(b => $"batch{b.Batch}", b => PerRoundSpread(b, r => BenchArithmetic.Ratio(r[ours], r[InferenceBenchmark.Ort])));
        var predictorVsOrt = figures.Batches.ToDictionary(b => $"batch{b.Batch}", b => PerRoundSpread(b, r => BenchArithmetic.Ratio(r[predictor], r[InferenceBenchmark.Ort])).Median);
        var fp32Best = figures.Batches.ToDictionary(b => $"batch{b.Batch}", b => PerRoundSpread(b, r => BenchArithmetic.Ratio(
            Math.Max(r[InferenceBenchmark.Features], r[InferenceBenchmark.FeaturesChannelsLast]), r[InferenceBenchmark.Ort])));
        // The serving runtimes side by side: the predictor as configured against the same predictor with its forward in ONNX Runtime.
        var runtimes = figures.Batches.Where(b => b.ImagesPerSecond.ContainsKey(InferenceBenchmark.PredictorOnnxRuntime))
            .ToDictionary(b => $"batch{b.Batch}", b => PerRoundSpread(b, r => BenchArithmetic.Ratio(r[InferenceBenchmark.PredictorOnnxRuntime], r[predictor])).Median);
        return new InferenceDetail(perBatch, vsOrt.ToDictionary(kv => kv.Key, kv => kv.Value.Median), predictorVsOrt, fp32Best.ToDictionary(kv => kv.Key, kv => kv.Value.Median),
            ours, figures.Bf16FeatureMaxAbsDiff, figures.Bf16FeatureRelativeError,
            figures.Bf16PredictorMaxProbabilityDiff, figures.Bf16PredictorTop1Agreement,
            "inferenceVsOrt is the lower of the per-batch ratios of the same network (ResNet18 to layer4 + GAP, same weights, same threads), " +
            "ours in the layout and precision the predictor is configured with (" + ours + "; ONNX Runtime runs fp32); each per-batch ratio is the median of the rounds' ratios (vsOrtSpreadPerBatch: lowest, median, highest). " +
            "The predictor serves a different, cheaper network (trunk to layer3 + CAM head) and does more (tensor conversion, class maps, boxes): its ratio is shown beside, not as inferenceVsOrt. " +
            "predictorOnnxRuntimeVsTorch is that predictor with its forward in ONNX Runtime (RetailCam:Inference:Runtime = onnxruntime, fp32) over the predictor as configured.",
            runtimes)
        {
            VsOrtSpreadPerBatch = vsOrt,
            Fp32BestVsOrtSpreadPerBatch = fp32Best,
        };
    }

    /// <summary>A ratio over the rounds of one batch size; from the totals when the rounds were not kept.</summary>
    private static RatioSpread PerRoundSpread(InferenceAtBatch batch, Func<IReadOnlyDictionary<string, double>, double> ratio) =>
        BenchArithmetic.Spread(batch.PerRound is { Count: > 0 } rounds ? rounds.Select(ratio).ToList() : [ratio(batch.ImagesPerSecond)]);

    private static MachineDetail Machine(int threads, Device device)
    {
        var cpu = "unknown";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            if (CpuFeatures.HasNativeBFloat16) cpu += " (native bf16)";
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return new MachineDetail(cpu, Environment.ProcessorCount, threads, TorchEnvironment.NameOf(device), RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription,
            TorchSharp.torch.__version__, typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString() ?? "");
    }
}
