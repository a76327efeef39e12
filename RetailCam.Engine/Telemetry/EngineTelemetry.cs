using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RetailCam.Engine.Telemetry;

/// <summary>
/// The engine's meter and activity source and every instrument they carry, named here once so that a
/// dashboard, the README and the code agree. Plain System.Diagnostics: a host that exports them
/// (the web app, through OpenTelemetry) listens by <see cref="Name"/>; a host that does not pays next
/// to nothing. Instruments are process-wide, as the runtime's own are: several predictors or runs in
/// one process add up.
/// </summary>
public static class EngineTelemetry
{
    public const string Name = "RetailCam.Engine";

    /// <summary>Values of the <c>kind</c> tag of <see cref="Errors"/>.</summary>
    public static class ErrorKinds
    {
        public const string Prediction = "prediction";
        public const string Training = "training";
        public const string Http = "http";
    }

    /// <summary>Values of the <c>outcome</c> tag of <see cref="ModelLoads"/>.</summary>
    public static class Outcomes
    {
        public const string Ok = "ok";
        public const string Failed = "failed";
    }

    private static readonly string? Version = typeof(EngineTelemetry).Assembly.GetName().Version?.ToString();

    // Registered before the gauges that read them: static fields initialise in this order.
    private static readonly ConcurrentDictionary<LiveRunGauges, byte> LiveRuns = new();
    private static readonly ConcurrentDictionary<Func<int>, byte> PredictionQueues = new();
    private static readonly ConcurrentDictionary<Func<int>, byte> RunQueues = new();

    public static ActivitySource ActivitySource { get; } = new(Name, Version);

    public static Meter Meter { get; } = new(Name, Version);

    /// <summary>Images trained on, over every run; its rate is the process's training throughput.</summary>
    public static Counter<long> TrainingImages { get; } =
        Meter.CreateCounter<long>("retailcam.training.images", "{image}", "Images trained on, over every run.");

    /// <summary>Photos answered by a predictor (successful requests).</summary>
    public static Counter<long> PhotosPredicted { get; } =
        Meter.CreateCounter<long>("retailcam.prediction.photos", "{photo}", "Photos a predictor answered.");

    /// <summary>
    /// From a photo handed to the predictor to its answer: the wait for the model's first load and for a
    /// batch included, as a caller experiences it. Bucket bounds as ASP.NET Core's request duration, so the
    /// two histograms read alike.
    /// </summary>
    public static Histogram<double> PredictionDuration { get; } =
        Meter.CreateHistogram("retailcam.prediction.duration", "s", "Time from a photo handed to the predictor to its answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] });

    /// <summary>Loads of a model version into a predictor, tagged <c>outcome</c> (<see cref="Outcomes"/>).</summary>
    public static Counter<long> ModelLoads { get; } =
        Meter.CreateCounter<long>("retailcam.model.loads", "{load}", "Model versions loaded into a predictor, by outcome.");

    /// <summary>Failures that are the service's, not the caller's, tagged <c>kind</c> (<see cref="ErrorKinds"/>).</summary>
    public static Counter<long> Errors { get; } =
        Meter.CreateCounter<long>("retailcam.errors", "{error}", "Failures of the service (not of the caller's input), by kind.");

    static EngineTelemetry()
    {
        // Per-run values are observed, not recorded: a run that ends leaves the output with it, so the
        // `run` tag only ever names live runs.
        Meter.CreateObservableGauge("retailcam.training.step", () => LiveRuns.Keys.Select(r => new Measurement<long>(r.Step, r.Tag)),
            "{step}", "Batches trained so far by each live run.");
        Meter.CreateObservableGauge("retailcam.training.loss", () => LiveRuns.Keys.Where(r => r.HasLoss).Select(r => new Measurement<double>(r.Loss, r.Tag)),
            null, "Training loss of each live run's last batch.");
        Meter.CreateObservableGauge("retailcam.training.throughput", () => LiveRuns.Keys.Select(r => new Measurement<double>(r.ImagesPerSecond, r.Tag)),
            "{image}/s", "Images per second of each live run (its moving average, loading included).");
        Meter.CreateObservableGauge("retailcam.training.runs.active", () => LiveRuns.Count,
            "{run}", "Runs in their training loop, paused ones included.");
        Meter.CreateObservableGauge("retailcam.training.runs.queued", () => RunQueues.Keys.Sum(count => count()),
            "{run}", "Runs waiting for a training slot.");
        Meter.CreateObservableGauge("retailcam.prediction.queue.length", () => PredictionQueues.Keys.Sum(count => count()),
            "{photo}", "Photos waiting for a predictor's serving thread.");
    }

    /// <summary>Shows a run's gauges until the returned handle is disposed.</summary>
    internal static IDisposable TrackRun(LiveRunGauges run) => Track(LiveRuns, run);

    /// <summary>Adds a predictor's waiting photos to the queue gauge until the returned handle is disposed.</summary>
    internal static IDisposable TrackPredictionQueue(Func<int> waiting) => Track(PredictionQueues, waiting);

    /// <summary>Adds a host's queue of runs waiting for a slot to the queued-runs gauge until the returned handle is disposed.</summary>
    public static IDisposable TrackRunQueue(Func<int> waiting) => Track(RunQueues, waiting);

    public static void RecordError(string kind) => Errors.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>
    /// A span inside the operation under way, or null when there is none (or nobody listens). Engine work
    /// started by no traced operation (a training loader's decoding) never opens a trace of its own.
    /// </summary>
    internal static Activity? StartChild(string name, ActivityKind kind = ActivityKind.Internal) =>
        Activity.Current is null ? null : ActivitySource.StartActivity(name, kind);

    /// <summary>
    /// A finished span under <paramref name="parent"/> with the times given: work done once for several
    /// requests (one forward pass of a batch) shows in each request's trace.
    /// </summary>
    internal static void RecordSpan(string name, ActivityContext parent, DateTime startUtc, DateTime endUtc, params ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (parent == default) return;
        using var span = ActivitySource.StartActivity(name, ActivityKind.Internal, parent, startTime: startUtc);
        if (span is null) return;
        foreach (var (key, value) in tags) span.SetTag(key, value);
        span.SetEndTime(endUtc);
    }

    private static IDisposable Track<T>(ConcurrentDictionary<T, byte> set, T item) where T : notnull
    {
        set.TryAdd(item, 0);
        return new Registration(() => set.TryRemove(item, out _));
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        private Action? remove = remove;

        public void Dispose() => Interlocked.Exchange(ref remove, null)?.Invoke();
    }
}

/// <summary>
/// What the per-run gauges show of one live run, written by its training thread after each batch and
/// read by whoever collects the metrics.
/// </summary>
internal sealed class LiveRunGauges(string runId)
{
    private long step;
    private double loss = double.NaN;
    private double imagesPerSecond;

    public string RunId { get; } = runId;

    internal KeyValuePair<string, object?> Tag { get; } = new("run", runId);

    public long Step => Interlocked.Read(ref step);
    public double Loss => Volatile.Read(ref loss);
    public double ImagesPerSecond => Volatile.Read(ref imagesPerSecond);
    internal bool HasLoss => !double.IsNaN(Loss);

    public void Update(long atStep, double batchLoss, double rate)
    {
        Volatile.Write(ref loss, batchLoss);
        Volatile.Write(ref imagesPerSecond, rate);
        Interlocked.Exchange(ref step, atStep);
    }
}
