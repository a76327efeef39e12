using System.Diagnostics;
using RetailCam.Engine.Data;
using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
using static TorchSharp.torch;

namespace RetailCam.Benchmarks;

/// <summary>RSS (after a full GC) at two steps of one training run.</summary>
public sealed record MemoryFigures(long FirstStep, long LastStep, long FirstBytes, long LastBytes)
{
    public double GrowthPct => BenchArithmetic.GrowthPct(FirstBytes, LastBytes);
}

/// <summary>
/// The training pipeline as the CLI and the web app run it (streamed loader over a PNG folder tree,
/// augmentation, <see cref="Trainer"/> with its metrics and events, class-map snapshots), in short
/// runs whose steady state is timed: from the end of step 1 to the end of the last step, so loader
/// start-up, the step-0 snapshot and the epoch-end validation and saves fall outside the window.
/// </summary>
public sealed class TrainingBenchmark : IDisposable
{
    private readonly ImageCatalogue catalogue;
    private readonly IReadOnlyList<CatalogueEntry> trainEntries;
    private readonly IReadOnlyList<CatalogueEntry> validationEntries;
    private readonly IReadOnlyList<ProbeImage> probes;
    private readonly TrainingOptions options;
    private readonly int loaderWorkers;
    private readonly string workFolder;
    private readonly CamNetwork network;
    private readonly Device device;
    // One for every round, as one run's epochs share theirs: after the first round the catalogue is decoded, as in a run's later epochs.
    private readonly DecodedImageCache cache = new(DecodedImageCache.DefaultBudgetBytes);
    private int runs;

    public TrainingBenchmark(string dataFolder, string workFolder, TrainingOptions options, int loaderWorkers, string? pretrainedFolder, Device device)
    {
        this.device = device;
        catalogue = ImageCatalogue.Scan(dataFolder);
        trainEntries = catalogue.InSplit(DatasetSplit.Train);
        validationEntries = catalogue.InSplit(DatasetSplit.Validation);
        // Every round restarts at step 0; head-only steps would make it time a cheaper step than a run's.
        this.options = options with { HeadOnlySteps = 0, Epochs = 1 };
        this.loaderWorkers = loaderWorkers;
        this.workFolder = workFolder;
        probes = TrainingJob.Probes(validationEntries, options.ProbeCount, options.ImageSize);
        network = CamNetworkFactory.CreatePretrainedResNet18(catalogue.Categories.Count, pretrainedFolder, device: device);
    }

    public int Classes => catalogue.Categories.Count;

    public int TrainImages => trainEntries.Count;

    /// <summary>One short run of <paramref name="steps"/> + 1 steps; the last <paramref name="steps"/> are timed.</summary>
    /// <param name="decodedCache">As a run does (<see cref="TrainingJobSpec.DecodedCacheBytes"/>): photos decoded in an earlier round come from memory; false decodes every photo.</param>
    public RoundResult PipelineRound(int steps, int snapshotEverySteps, int? loaderWorkers = null, bool decodedCache = true) =>
        PipelineRoundWithSnapshots(steps, snapshotEverySteps, loaderWorkers, decodedCache).Round;

    /// <summary>
    /// Decodes every photo of both splits into the rounds' cache: the timed rounds then see what a run's epochs
    /// after its first see. The first epoch decodes as the no-cache contender does.
    /// </summary>
    public void FillCache()
    {
        var decoder = new RetailCam.Engine.Imaging.ImageFileDecoder();
        foreach (var entry in trainEntries.Concat(validationEntries)) cache.Decode(decoder, entry.FullPath).Dispose();
    }

    /// <summary>Photos the rounds' shared cache holds, and its bytes.</summary>
    public (int Photos, long Bytes) CacheFill => (cache.Count, cache.Bytes);

    /// <summary>
    /// As <see cref="PipelineRound"/>, with the time the snapshots inside the window cost: their
    /// training-thread time, plus their share of the background writer's time (the writer may
    /// finish after the window, so its total is split evenly over the snapshots taken).
    /// </summary>
    public (RoundResult Round, double SnapshotSeconds) PipelineRoundWithSnapshots(int steps, int snapshotEverySteps, int? loaderWorkers = null, bool decodedCache = true)
    {
        var window = new StepWindow(firstStep: 1);
        var snapshots = Train(options with { SnapshotEverySteps = snapshotEverySteps }, steps + 1, [window], CancellationToken.None, loaderWorkers, decodedCache);
        var inWindow = snapshotEverySteps > 0 ? (steps + 1) / snapshotEverySteps : 0;
        var taken = inWindow + 1;
        var seconds = window.SnapshotThreadSeconds + snapshots.BackgroundTime.TotalSeconds * inWindow / taken;
        return (new RoundResult((long)steps * options.BatchSize, window.Seconds), seconds);
    }

    /// <summary>A run of <paramref name="lastStep"/> steps over as many epochs as it takes, RSS read after a full GC at two steps.</summary>
    public MemoryFigures Memory(long firstStep, long lastStep)
    {
        using var stop = new CancellationTokenSource();
        var probe = new RssProbe(firstStep, lastStep, stop);
        // A stopped run ends in OperationCanceledException inside the trainer, which it turns into a status.
        var epochs = (int)Math.Min(10_000, lastStep / Math.Max(1, trainEntries.Count / options.BatchSize) + 2);
        try
        {
            Train(options with { Epochs = epochs }, null, [probe], stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        if (probe.LastBytes == 0) throw new InvalidOperationException($"The memory run ended before step {lastStep}.");
        return new MemoryFigures(firstStep, lastStep, probe.FirstBytes, probe.LastBytes);
    }

    /// <returns>The run's snapshot callback, already disposed: only its timings are read.</returns>
    private ClassMapSnapshots Train(TrainingOptions runOptions, int? batchesPerEpoch, IReadOnlyList<ITrainingCallback> extra, CancellationToken cancellationToken, int? workers = null,
        bool decodedCache = true)
    {
        var roundCache = decodedCache ? cache : null;
        var loaderWorkers = workers ?? this.loaderWorkers;
        var round = Interlocked.Increment(ref runs);
        var run = new RunFolder(Path.Combine(workFolder, $"run-{round:D3}"));
        var loaderOptions = new DataLoaderOptions { BatchSize = runOptions.BatchSize, ImageSize = runOptions.ImageSize, Workers = loaderWorkers, Seed = round, DropLast = true };
        var train = new LoaderBatches(new StreamingDataLoader(LabelledImage.From(trainEntries), loaderOptions, augment: true, cache: roundCache), batchesPerEpoch);
        // Validation is part of every epoch; two batches keep it from dominating short rounds.
        var validation = new LoaderBatches(new StreamingDataLoader(LabelledImage.From(validationEntries),
            new DataLoaderOptions { BatchSize = runOptions.BatchSize, ImageSize = runOptions.ImageSize, Workers = loaderWorkers, Shuffle = false }, augment: false, cache: roundCache), 2);
        var events = new TrainingEventStream();
        long received = 0;
        // A subscriber, as the CLI's progress and the web app's hub are: publishing to nobody would cost nothing.
        using var subscription = events.Subscribe(_ => Interlocked.Increment(ref received));
        using var snapshots = new ClassMapSnapshots(probes);
        var trainer = new Trainer(network, runOptions, catalogue.Categories, train, validation, run, events, [snapshots, .. extra], device: device);
        foreach (var callback in extra.OfType<StepWindow>()) callback.Snapshots = snapshots;
        trainer.Run(resume: false, cancellationToken);
        return snapshots;
    }

    public void Dispose() => network.Dispose();

    /// <summary>The loader as the trainer's batch source, optionally cut to a number of batches per epoch.</summary>
    private sealed class LoaderBatches(StreamingDataLoader loader, int? limit) : IEpochBatches
    {
        public int BatchesPerEpoch => Math.Min(loader.BatchesPerEpoch, limit ?? int.MaxValue);

        public IEnumerable<LabelledBatch> Epoch(int epoch, int skipBatches, CancellationToken cancellationToken)
        {
            var yielded = 0;
            foreach (var host in loader.ReadEpoch(epoch, skipBatches, cancellationToken))
            {
                using (host)
                {
                    var tensors = host.ToTensors();
                    yield return new LabelledBatch(tensors.Images, tensors.Labels);
                }
                if (++yielded >= BatchesPerEpoch) yield break;
            }
        }
    }

    /// <summary>Placed last among the callbacks, so a step's snapshot falls inside the window.</summary>
    private sealed class StepWindow(long firstStep) : ITrainingCallback
    {
        private long start;
        private long end;
        private TimeSpan snapshotThreadAtStart;
        private TimeSpan snapshotThreadAtEnd;

        public ClassMapSnapshots? Snapshots { get; set; }

        public double Seconds => Stopwatch.GetElapsedTime(start, end).TotalSeconds;

        public double SnapshotThreadSeconds => (snapshotThreadAtEnd - snapshotThreadAtStart).TotalSeconds;

        public void OnBatchEnded(TrainingContext context, BatchEnded batch)
        {
            var now = Stopwatch.GetTimestamp();
            var thread = Snapshots?.TrainingThreadTime ?? TimeSpan.Zero;
            if (batch.Step == firstStep) (start, snapshotThreadAtStart) = (now, thread);
            (end, snapshotThreadAtEnd) = (now, thread);
        }
    }

    private sealed class RssProbe(long firstStep, long lastStep, CancellationTokenSource stop) : ITrainingCallback
    {
        public long FirstBytes { get; private set; }
        public long LastBytes { get; private set; }

        public void OnBatchEnded(TrainingContext context, BatchEnded batch)
        {
            if (batch.Step == firstStep) FirstBytes = Rss();
            if (batch.Step != lastStep) return;
            LastBytes = Rss();
            stop.Cancel();
        }

        private static long Rss()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using var process = Process.GetCurrentProcess();
            return process.WorkingSet64;
        }
    }
}
