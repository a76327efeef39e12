using System.Text.Json;
using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Models;
using RetailCam.Engine.Telemetry;
using TorchSharp;

namespace RetailCam.Engine.Training;

/// <summary>Everything that defines a run, stored as run.json so a resumed run can check it is the same.</summary>
public sealed record TrainingJobSpec
{
    public required string DataFolder { get; init; }
    public required string RunFolder { get; init; }
    public BackboneKind Backbone { get; init; } = BackboneKind.ResNet18;

    /// <summary>What the user asked; whatever is left null the planner chooses for the dataset (<see cref="TrainingPlanner"/>).</summary>
    public TrainingSettings Settings { get; init; } = new();

    /// <summary>Folder of the shipped ImageNet ResNet18 (null: beside the application).</summary>
    public string? PretrainedFolder { get; init; }

    /// <summary>A torchvision VGG16 state dict (.pt or .safetensors) to start VGG16 from; null trains it from scratch.</summary>
    public string? Vgg16Weights { get; init; }

    /// <summary>
    /// Half the cores, at least one: libtorch already runs one thread per core. On a 2-core machine
    /// one loader thread was faster than two in three of four side-by-side runs and tied at batch 64,
    /// but slower in one (docs/BENCHMARKS.md): a weak preference, kept because it also leaves a core
    /// to the web app while training runs.
    /// </summary>
    public static int DefaultLoaderWorkers => Math.Max(1, Environment.ProcessorCount / 2);

    public int LoaderWorkers { get; init; } = DefaultLoaderWorkers;

    public double AugmentationStrength { get; init; } = 0.5;

    /// <summary>
    /// Bytes of decoded photos the run keeps in memory between epochs (<see cref="DecodedImageCache"/>); 0 decodes
    /// every photo every epoch; null is <see cref="DecodedImageCache.DefaultBudgetBytes"/> of the machine it trains on.
    /// </summary>
    public long? DecodedCacheBytes { get; init; }
}

public sealed record TrainingJobResult(TrainingSummary Summary, IReadOnlyList<string> Categories, int TrainImages, int ValidationImages,
    IReadOnlyList<SkippedFile> Skipped, string ModelFolder, TrainingPlan Plan)
{
    /// <summary>How the best model serves, tuned on the validation split after training; null when no model was saved.</summary>
    public ServingTuningResult? Serving { get; init; }

    /// <summary>The version of the dataset the run trained on (<see cref="DatasetManifest.Version"/>).</summary>
    public string? DatasetVersion { get; init; }
}

/// <summary>
/// A whole training run from a folder tree: scan the catalogue, split it, stream it, build the
/// network, film the probes, train, and leave the best model as a model folder. The CLI and the web
/// app both run training through this.
/// </summary>
public static class TrainingJob
{
    /// <param name="device">Where the network trains and every batch and snapshot is computed: the host's configured device.</param>
    public static TrainingJobResult Run(TrainingJobSpec spec, torch.Device device, TrainingEventStream events, RunControl? control, bool resume,
        CancellationToken cancellationToken, Action<string>? log = null)
    {
        try
        {
            return Train(spec, device, events, control, resume, log, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Counted here rather than in the trainer, so that a run failing before its first step counts too.
            EngineTelemetry.RecordError(EngineTelemetry.ErrorKinds.Training);
            throw;
        }
    }

    private static TrainingJobResult Train(TrainingJobSpec spec, torch.Device device, TrainingEventStream events, RunControl? control, bool resume,
        Action<string>? log, CancellationToken cancellationToken)
    {
        if (spec.Settings.Problems() is { Count: > 0 } problems)
            throw new ArgumentException("Invalid training settings: " + string.Join("; ", problems));
        var run = new RunFolder(spec.RunFolder).EnsureCreated();
        log?.Invoke($"Scanning {spec.DataFolder} …");
        var catalogue = ImageCatalogue.Scan(spec.DataFolder, cancellationToken: cancellationToken);
        if (catalogue.Categories.Count < 2)
            throw new InvalidOperationException($"'{spec.DataFolder}' holds {catalogue.Categories.Count} categories; training needs at least two folders of images.");
        var trainEntries = catalogue.InSplit(DatasetSplit.Train);
        var validationEntries = catalogue.InSplit(DatasetSplit.Validation);
        if (trainEntries.Count == 0 || validationEntries.Count == 0)
            throw new InvalidOperationException($"'{spec.DataFolder}' has too few images to split into training and validation sets.");
        log?.Invoke($"{catalogue.Categories.Count} categories, {trainEntries.Count} training and {validationEntries.Count} validation images, {catalogue.Skipped.Count} files skipped.");
        // The photos a run started on stay its record when it resumes, even if the folder changed since.
        var dataset = (resume ? DatasetManifest.Load(run.Paths.DatasetManifestFile) : null) ?? DatasetManifest.Of(catalogue, cancellationToken);
        dataset.Save(run.Paths.DatasetManifestFile);
        log?.Invoke($"Dataset version {dataset.Version[..12]} ({dataset.Files} photos, {dataset.Bytes / 1e6:F1} MB).");

        var plan = PlanOrRecall(run, spec, catalogue, device, resume, cancellationToken);
        var options = plan.Options.EnsureValid();
        foreach (var choice in plan.Choices) log?.Invoke($"  {choice.Setting} = {choice.Value}: {choice.Reason}");

        using var network = CreateNetwork(spec, catalogue.Categories.Count, device, options.Trunk, options.ProbeStart);
        var resuming = resume && Checkpoint.Find(run.Paths.CheckpointFolder) is not null;
        if (options.ProbeStart && !resuming && network.Head.HiddenChannels == network.Head.InChannels)
        {
            log?.Invoke("Fitting the probe start of the head on the pretrained features …");
            var probe = ProbeStart.Apply(network, trainEntries, validationEntries, catalogue.Categories.Count, options.ImageSize, options.Output, device, cancellationToken);
            log?.Invoke($"  probe start: validation accuracy {probe.ValidationAccuracy:P1} (L2 {probe.L2:G2}, {probe.TrainImages} photos, {probe.Seconds:F0} s)");
        }
        var loaderOptions = new DataLoaderOptions
        {
            BatchSize = options.BatchSize,
            ImageSize = options.ImageSize,
            SceneImageSize = options.SceneImageSize,
            Workers = spec.LoaderWorkers,
            Seed = options.Seed,
            ClassCount = options.Output == ClassOutput.Sigmoid ? catalogue.Categories.Count : 0,
            Augmentation = new AugmentationOptions { Strength = spec.AugmentationStrength, SceneProbability = options.SceneProbability },
        };
        // One cache for both splits: a catalogue that fits is decoded once per run, not once per epoch.
        var cacheBytes = spec.DecodedCacheBytes ?? DecodedImageCache.DefaultBudgetBytes;
        var cache = cacheBytes > 0 ? new DecodedImageCache(cacheBytes) : null;
        var train = new LoaderBatches(new StreamingDataLoader(LabelledImage.From(trainEntries), loaderOptions, augment: true, cache: cache));
        var validation = new LoaderBatches(new StreamingDataLoader(LabelledImage.From(validationEntries),
            new DataLoaderOptions { BatchSize = options.BatchSize, ImageSize = options.ImageSize, Workers = spec.LoaderWorkers, Shuffle = false }, augment: false, cache: cache));

        using var snapshots = new ClassMapSnapshots(Probes(validationEntries, options.ProbeCount, options.ImageSize));
        var weights = options.BalanceClasses ? ClassWeights(plan.Profile.TrainImagesPerClass) : null;
        var trainer = new Trainer(network, options, catalogue.Categories, train, validation, run, events, [snapshots], control, device, weights);
        var summary = trainer.Run(resume, cancellationToken);
        var skipped = catalogue.Skipped.Concat(train.Loader.Skipped).Concat(validation.Loader.Skipped).ToList();
        ServingTuningResult? serving = null;
        // A run suspended for a restart tunes when it ends for good; tuning now would only delay the shutdown.
        var suspended = summary.Status == RunStatus.Stopped && control?.Suspended == true;
        if (summary.Status != RunStatus.Failed && !suspended && Models.Storage.ModelFolder.Exists(run.Paths.ModelFolder))
        {
            log?.Invoke("Tuning serving on the validation split (serving side, calibration, unknown threshold) …");
            serving = ServingTuning.Tune(run.Paths.ModelFolder, validationEntries, device, options.Seed, options.EffectiveSceneImageSize, CancellationToken.None);
            foreach (var side in serving.Sides)
                log?.Invoke($"  up to {side.Side} px: validation accuracy {side.Accuracy:P1}, scene accuracy {side.SceneAccuracy:P1}, scene MaxBoxAcc {side.MaxBoxAcc:P1}{(side.Side == serving.ServeInputSize ? " (chosen)" : "")}");
            log?.Invoke($"  temperature {serving.Temperature:F2} (validation ECE {serving.EceBefore:P1} → {serving.EceAfter:P1}), unknown below {serving.UnknownThreshold?.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) ?? "none"}");
        }
        return new TrainingJobResult(summary, catalogue.Categories, trainEntries.Count, validationEntries.Count, skipped, run.Paths.ModelFolder, plan)
        {
            Serving = serving,
            DatasetVersion = dataset.Version,
        };
    }

    /// <summary>
    /// Whether a run's best model still waits for its serving tuning: the process training it ended after
    /// the last epoch and before the tuning was written (a kill at that moment).
    /// </summary>
    public static bool AwaitsServingTuning(string runFolder)
    {
        var model = new RunPaths(runFolder).ModelFolder;
        if (!Models.Storage.ModelFolder.Exists(model)) return false;
        try
        {
            return Models.Storage.ModelFolder.ReadManifest(model).ServeInputSize is null && ReadRunRecord(runFolder)?.Plan is not null;
        }
        catch (Models.Storage.ModelLoadException)
        {
            return false;
        }
    }

    /// <summary>
    /// The last step of a run whose training ended but whose tuning did not (<see cref="AwaitsServingTuning"/>):
    /// tunes its best model on the validation split as the run would have, with the plan it recorded.
    /// </summary>
    public static ServingTuningResult TuneServing(TrainingJobSpec spec, torch.Device device, CancellationToken cancellationToken, Action<string>? log = null)
    {
        var record = ReadRunRecord(spec.RunFolder) ?? throw new InvalidOperationException($"{spec.RunFolder} holds no run record to tune with.");
        var options = record.Plan?.Options ?? throw new InvalidOperationException($"{spec.RunFolder} recorded no plan to tune with.");
        var catalogue = ImageCatalogue.Scan(spec.DataFolder, cancellationToken: cancellationToken);
        log?.Invoke("Tuning serving on the validation split, which the run's previous process did not finish …");
        return ServingTuning.Tune(new RunPaths(spec.RunFolder).ModelFolder, catalogue.InSplit(DatasetSplit.Validation), device, options.Seed,
            options.EffectiveSceneImageSize, cancellationToken);
    }

    /// <summary>Inverse class frequency, scaled so the average photo weighs 1, and kept within 0.25–4 so a tiny class cannot dominate.</summary>
    public static float[] ClassWeights(IReadOnlyList<int> perClass)
    {
        var total = perClass.Sum();
        return perClass.Select(n => (float)Math.Clamp(n == 0 ? 1 : (double)total / (perClass.Count * n), 0.25, 4)).ToArray();
    }

    /// <summary>A new run profiles its dataset and plans; a resumed one trains on with the plan it recorded.</summary>
    private static TrainingPlan PlanOrRecall(RunFolder run, TrainingJobSpec spec, ImageCatalogue catalogue, torch.Device device, bool resume, CancellationToken cancellationToken)
    {
        if (resume && ReadRunRecord(run.Paths.Folder) is { Plan: { } recorded } existing)
        {
            if (!existing.Categories.SequenceEqual(catalogue.Categories))
                throw new InvalidOperationException($"Cannot resume {run.Paths.Folder}: its categories differ from those now found in {spec.DataFolder}.");
            return recorded;
        }
        if (!resume && Checkpoint.Find(run.Paths.CheckpointFolder) is not null)
            throw new InvalidOperationException($"{run.Paths.Folder} already holds a run; pass --resume to continue it or choose another folder.");
        var profile = DatasetProfile.Of(catalogue, cancellationToken: cancellationToken);
        var plan = TrainingPlanner.Plan(profile, spec.Settings, accelerated: device.type == DeviceType.CUDA);
        var record = new RunRecord(spec, catalogue.Categories, DateTimeOffset.UtcNow) { Plan = plan };
        RunFolder.WriteAtomically(run.Paths.RunFile, JsonSerializer.Serialize(record, EngineJson.Options));
        return plan;
    }

    /// <summary>The network a spec starts from, built (and its pretrained weights read) on the CPU, then moved to <paramref name="device"/>.</summary>
    /// <param name="probeStart">The head's conv keeps the trunk's width, so it can start as the identity (<see cref="CamHead.StartFromProbe"/>).</param>
    public static CamNetwork CreateNetwork(TrainingJobSpec spec, int classCount, torch.Device device, ResNet18CamTrunk trunk = ResNet18CamTrunk.Layer3, bool probeStart = false)
    {
        var network = spec.Backbone switch
        {
            BackboneKind.ResNet18 => CamNetworkFactory.CreatePretrainedResNet18(classCount, spec.PretrainedFolder,
                headHiddenChannels: probeStart ? ResNet18.StageChannels[ResNet18Options.Cam(trunk).LastStage - 1] : null, trunk: trunk),
            BackboneKind.Vgg16 => CreateVgg16(spec, classCount),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Backbone, "Unknown backbone."),
        };
        network.to(device);
        return network;
    }

    private static CamNetwork CreateVgg16(TrainingJobSpec spec, int classCount)
    {
        var network = CamNetworkFactory.CreateNew(BackboneKind.Vgg16, classCount);
        if (spec.Vgg16Weights is not null)
            Vgg16WeightImporter.Import((Vgg16Backbone)network.Backbone, spec.Vgg16Weights);
        return network;
    }

    /// <summary>Probe images: one per class first (so every class is filmed), then more in order, from the validation split.</summary>
    public static IReadOnlyList<ProbeImage> Probes(IReadOnlyList<CatalogueEntry> validation, int count, int size)
    {
        var decoder = new ImageFileDecoder();
        var chosen = validation.GroupBy(e => e.ClassIndex).OrderBy(g => g.Key).Select(g => g.First())
            .Concat(validation).Distinct().Take(count);
        var probes = new List<ProbeImage>();
        foreach (var entry in chosen)
        {
            try
            {
                using var image = decoder.Decode(entry.FullPath);
                using var scope = TorchSharp.torch.NewDisposeScope();
                // Probes are kept as host arrays: the snapshot callback puts them on the run's device once.
                using var batch = ImageTensors.ToTensor(image, size, size, FitMode.CentreCrop, TorchSharp.torch.CPU);
                probes.Add(new ProbeImage(entry.RelativePath, entry.ClassIndex, batch.data<float>().ToArray(), size, size));
            }
            catch (ImageDecodeException)
            {
                // An unreadable probe is simply not filmed; the loader reports the file.
            }
        }
        return probes;
    }

    public static RunRecord? ReadRunRecord(string runFolder)
    {
        var file = new RunPaths(runFolder).RunFile;
        return File.Exists(file) ? JsonSerializer.Deserialize<RunRecord>(File.ReadAllText(file), EngineJson.Options) : null;
    }

    /// <summary>The streaming loader as the trainer's batch source.</summary>
    private sealed class LoaderBatches(StreamingDataLoader loader) : IEpochBatches
    {
        public StreamingDataLoader Loader { get; } = loader;
        public int BatchesPerEpoch => Loader.BatchesPerEpoch;

        public IEnumerable<LabelledBatch> Epoch(int epoch, int skipBatches, CancellationToken cancellationToken)
        {
            foreach (var host in Loader.ReadEpoch(epoch, skipBatches, cancellationToken))
            {
                using (host)
                {
                    var tensors = host.ToTensors();
                    yield return new LabelledBatch(tensors.Images, tensors.Labels, tensors.Targets);
                }
            }
        }
    }
}

public sealed record RunRecord(TrainingJobSpec Spec, IReadOnlyList<string> Categories, DateTimeOffset CreatedUtc)
{
    /// <summary>The settings the run trains with and why each was chosen; null in runs recorded before plans existed.</summary>
    public TrainingPlan? Plan { get; init; }
}
