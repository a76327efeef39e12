using System.Diagnostics;
using System.Threading.Channels;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Telemetry;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RetailCam.Engine.Inference;

/// <summary>
/// Thread-safe predictions over many models, asked for by id. Callers from any thread enqueue photos;
/// one dedicated thread gathers concurrent requests into micro-batches (one forward per model for many
/// photos), disposes every tensor of a batch in one scope, and answers each request. Models are loaded
/// on first use onto the device given, kept (the least recently used let go beyond
/// <see cref="PredictorOptions.MaxLoadedModels"/>), and loaded again when a newer version is published
/// under the same id: a request holds the copy it started on until it is answered, and a replaced copy
/// is freed once its last request is. Every request is timed and traced on <see cref="EngineTelemetry"/>
/// (its latency, the photos answered, the queue, model loads and failures), and a batch's forward pass and
/// class maps show as spans in the trace of each request it answered.
/// </summary>
public sealed class Predictor : IDisposable
{
    private readonly PredictorOptions options;
    private readonly Func<string, ModelSource?> resolve;
    private readonly Channel<Request> requests = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread worker;
    private readonly Lock gate = new();
    private readonly Dictionary<string, ServedModel> models = new(StringComparer.Ordinal);
    private readonly IDisposable queueTracking;
    private long lastUse;
    private long batchesRun;
    // The single-reader channel cannot count its items, so the queue is counted on the way in and out.
    private int queued;
    private bool disposed;

    /// <param name="resolve">The model an id names as published now, or null when there is none (e.g. <see cref="ModelRegistry.Locate"/>).</param>
    /// <param name="defaultModelId">The model a request that names none is answered by.</param>
    public Predictor(PredictorOptions options, Device device, Func<string, ModelSource?> resolve, string? defaultModelId = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(resolve);
        if (PredictorOptions.InputSizeProblem(options.InputSize) is { } problem)
            throw new ArgumentOutOfRangeException(nameof(options), problem);
        this.options = options;
        this.resolve = resolve;
        Device = device;
        DefaultModelId = defaultModelId;
        queueTracking = EngineTelemetry.TrackPredictionQueue(() => QueueLength);
        worker = new Thread(Serve) { IsBackground = true, Name = "RetailCam predictor" };
        worker.Start();
    }

    public Predictor(PredictorOptions options, Device device, ModelRegistry registry, string? defaultModelId = null)
        : this(options, device, registry.Locate, defaultModelId) { }

    /// <summary>A predictor of one model folder, served under <paramref name="id"/> (the folder's name by default) and answering requests that name none.</summary>
    public static Predictor ForFolder(string folder, PredictorOptions options, Device device, string? id = null)
    {
        var served = ModelSource.ForFolder(folder, id).Id;
        return new Predictor(options, device, wanted => wanted == served ? ModelSource.ForFolder(folder, served) : null, served);
    }

    /// <summary>Where every served model and every batch lives.</summary>
    public Device Device { get; }

    /// <summary>The most photos one forward pass takes (<see cref="PredictorOptions.MaxBatch"/>).</summary>
    public int MaxBatch => options.MaxBatch;

    public string? DefaultModelId { get; }

    /// <summary>The manifest of the default model as published now (what the next request that names no model is answered by), or null.</summary>
    public ModelManifest? Manifest => DefaultModelId is null ? null : resolve(DefaultModelId)?.Manifest;

    /// <summary>Forward passes run so far; fewer than requests answered when micro-batching gathers them.</summary>
    public long BatchesRun => Interlocked.Read(ref batchesRun);

    /// <summary>Photos handed over and not yet taken into a batch by the serving thread.</summary>
    public int QueueLength => Volatile.Read(ref queued);

    /// <summary>Called on the serving thread before each forward pass with the network and the batch, so tests can see where they sit.</summary>
    internal event Action<CamNetwork, Tensor>? Forwarding;

    /// <summary>Loads the model's current version if it is not loaded yet and returns its manifest; fails as a request for it would.</summary>
    public async Task<ModelManifest> LoadAsync(string? id = null, CancellationToken cancellationToken = default)
    {
        var model = Acquire(id);
        try
        {
            return (await model.Loading.WaitAsync(cancellationToken)).Manifest;
        }
        finally
        {
            Release(model);
        }
    }

    /// <summary>
    /// Turns a loaded network into a served copy: inference mode, no gradients for parameters, BatchNorm
    /// folded, optionally bf16, weights in the layout the input comes in. Class maps read the activations
    /// of this copy's forward (see <see cref="ClassMapMethod"/>), so no other copy is kept.
    /// </summary>
    public static void PrepareForServing(CamNetwork network, PredictorOptions options, bool reducedPrecision)
    {
        network.eval();
        foreach (var p in network.parameters()) p.requires_grad = false;
        if (options.FoldBatchNorm) network.FoldBatchNorm();
        if (reducedPrecision) network.ToBFloat16();
        if (options.ChannelsLast) ChannelsLastWeights.Apply(network);
    }

    public Task<Prediction> PredictAsync(Image<Rgb24> photo, string source, PredictRequestOptions? request = null, CancellationToken cancellationToken = default)
    {
        request ??= new PredictRequestOptions();
        var started = Stopwatch.GetTimestamp();
        var model = Acquire(request.ModelId);
        // Checked here so one bad request never fails the others batched with it.
        var classes = model.Manifest.Categories.Count;
        foreach (var c in request.MapClasses)
            if (c < 0 || c >= classes)
            {
                Release(model);
                throw new ArgumentOutOfRangeException(nameof(request), c, $"Class {c} does not exist: model {model.Id} has {classes} classes.");
            }
        return EnqueueAsync(new Request(model, photo, source, request, new TaskCompletionSource<Prediction>(TaskCreationOptions.RunContinuationsAsynchronously), started, default, cancellationToken));
    }

    private async Task<Prediction> EnqueueAsync(Request request)
    {
        using var span = EngineTelemetry.StartChild("retailcam.predict");
        span?.SetTag("retailcam.model", request.Model.Id);
        try
        {
            try
            {
                await request.Model.Loading.WaitAsync(request.Cancellation);
            }
            catch
            {
                Release(request.Model);
                throw;
            }
            // From here the serving thread answers the request and lets go of its model.
            Interlocked.Increment(ref queued);
            if (!requests.Writer.TryWrite(request with { Trace = span?.Context ?? default }))
            {
                Interlocked.Decrement(ref queued);
                Release(request.Model);
                throw new ObjectDisposedException(nameof(Predictor));
            }
            var prediction = await request.Result.Task.WaitAsync(request.Cancellation);
            EngineTelemetry.PredictionDuration.Record(Stopwatch.GetElapsedTime(request.Started).TotalSeconds);
            EngineTelemetry.PhotosPredicted.Add(1);
            return prediction;
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not ObjectDisposedException)
        {
            // A model that would not load or a forward pass that failed: the service's failure, not the caller's.
            EngineTelemetry.RecordError(EngineTelemetry.ErrorKinds.Prediction);
            span?.AddException(ex).SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    /// <summary>The loaded copy of the model's current version (loading it when there is none), held until <see cref="Release"/>.</summary>
    private ServedModel Acquire(string? requested)
    {
        var id = requested ?? DefaultModelId ?? throw new InvalidOperationException("No model is loaded yet: name one, or give the predictor a default model.");
        ModelSource? source = null;
        ModelLoadException? unreadable = null;
        try
        {
            source = resolve(id);
        }
        catch (ModelLoadException ex)
        {
            unreadable = ex;
        }
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (models.TryGetValue(id, out var cached) && cached.Loading.IsFaulted)
            {
                // A failed load is not kept: this request tries again and reports the reason.
                models.Remove(id);
                Retire(cached);
                cached = null;
            }
            if (source is null)
            {
                // A model being published again can be unreadable for a moment: the loaded copy answers meanwhile.
                if (cached is not null && unreadable is not null) return Hold(cached);
                throw unreadable ?? (Exception)new KeyNotFoundException($"Model '{id}' does not exist.");
            }
            if (cached is not null && cached.Version == source.Version) return Hold(cached);

            var fresh = new ServedModel(source, Task.Run(() => Load(source)));
            models[id] = fresh;
            if (cached is not null) Retire(cached);
            while (models.Count > options.MaxLoadedModels)
            {
                var leastRecent = models.Where(entry => entry.Value != fresh).MinBy(entry => entry.Value.LastUse);
                models.Remove(leastRecent.Key);
                Retire(leastRecent.Value);
            }
            return Hold(fresh);
        }
    }

    private ServedModel Hold(ServedModel model)
    {
        model.Users++;
        model.LastUse = ++lastUse;
        return model;
    }

    private void Release(ServedModel model)
    {
        lock (gate)
        {
            model.Users--;
            if (model.Retired && model.Users == 0) model.DisposeWhenLoaded();
        }
    }

    private static void Retire(ServedModel model)
    {
        model.Retired = true;
        if (model.Users == 0) model.DisposeWhenLoaded();
    }

    private ServedNetwork Load(ModelSource source)
    {
        using var span = EngineTelemetry.StartChild("retailcam.model.load");
        span?.SetTag("retailcam.model", source.Id);
        // The version named was read a moment ago; if two newer ones were published since, it is pruned
        // and the one published now is loaded instead (the next request notices the newer version).
        var folder = source.Folder;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var model = ModelFolder.Load(folder, Device);
                PrepareForServing(model.Network, options, options.UsesBFloat16);
                OnnxRuntimeForward? onnxRuntime = null;
                try
                {
                    // The TorchSharp copy stays: class-map methods read its head's weights (and Grad-CAM runs the head).
                    if (options.Runtime == InferenceRuntime.OnnxRuntime)
                        onnxRuntime = new OnnxRuntimeForward(ModelFolder.Resolve(folder) ?? folder, get_num_threads());
                }
                catch
                {
                    model.Dispose();
                    throw;
                }
                EngineTelemetry.ModelLoads.Add(1, new KeyValuePair<string, object?>("outcome", EngineTelemetry.Outcomes.Ok));
                return new ServedNetwork(model, onnxRuntime);
            }
            catch (Exception ex) when (ex is ModelLoadException or IOException && attempt < 3)
            {
                // A folder placed by hand may still be being copied: it gets a moment before it counts as broken.
                if (Directory.Exists(folder)) Thread.Sleep(100 * attempt);
                else folder = resolve(source.Id)?.Folder ?? folder;
            }
            catch (Exception ex)
            {
                EngineTelemetry.ModelLoads.Add(1, new KeyValuePair<string, object?>("outcome", EngineTelemetry.Outcomes.Failed));
                span?.AddException(ex).SetStatus(ActivityStatusCode.Error, ex.Message);
                throw;
            }
        }
    }

    private void Serve()
    {
        var batch = new List<Request>();
        while (requests.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            var deadline = DateTime.UtcNow.AddMilliseconds(options.MaxWaitMilliseconds);
            while (batch.Count < options.MaxBatch)
            {
                if (requests.Reader.TryRead(out var next))
                {
                    Interlocked.Decrement(ref queued);
                    if (next.Cancellation.IsCancellationRequested) Release(next.Model);
                    else batch.Add(next);
                    continue;
                }
                if (batch.Count == 0 || DateTime.UtcNow >= deadline) break;
                Thread.SpinWait(50);
                Thread.Yield();
            }

            foreach (var group in batch.GroupBy(r => r.Model))
            {
                var requestsOfModel = group.ToList();
                try
                {
                    var results = Run(group.Key, requestsOfModel);
                    Interlocked.Increment(ref batchesRun);
                    for (var i = 0; i < requestsOfModel.Count; i++) requestsOfModel[i].Result.TrySetResult(results[i]);
                }
                catch (Exception ex)
                {
                    foreach (var request in requestsOfModel) request.Result.TrySetException(ex);
                }
                finally
                {
                    foreach (var request in requestsOfModel) Release(request.Model);
                }
            }
        }
    }

    /// <summary>One forward pass per serving side among the batch's photos (<see cref="InputSizeFor(ModelManifest, int, int)"/>).</summary>
    private Prediction[] Run(ServedModel model, List<Request> batch)
    {
        var manifest = model.Loading.Result.Manifest;
        var results = new Prediction[batch.Count];
        foreach (var group in Enumerable.Range(0, batch.Count).GroupBy(i => InputSizeFor(manifest, batch[i].Photo.Width, batch[i].Photo.Height)))
        {
            var indices = group.ToList();
            var predictions = RunAt(model, indices.Select(i => batch[i]).ToList(), group.Key);
            for (var k = 0; k < indices.Count; k++) results[indices[k]] = predictions[k];
        }
        return results;
    }

    private Prediction[] RunAt(ServedModel model, List<Request> batch, int size)
    {
        using var scope = NewDisposeScope();
        var batchStarted = DateTime.UtcNow;
        var loaded = model.Loading.Result;
        var categories = loaded.Manifest.Categories;
        var tree = model.TreeFor(loaded.Manifest);
        var images = ImageTensors.ToBatch(batch.Select(r => r.Photo).ToList(), size, size, FitMode.Stretch, Device, options.ChannelsLast && loaded.OnnxRuntime is null);
        Forwarding?.Invoke(loaded.Network, images);

        Tensor logits, activations;
        using (inference_mode())
        {
            if (loaded.OnnxRuntime is { } onnxRuntime)
            {
                (logits, activations) = onnxRuntime.Run(images);
                logits = logits.to(Device);
                activations = activations.to(Device);
            }
            else
            {
                using var forward = loaded.Network.ForwardWithActivations(images);
                logits = forward.Logits.to_type(ScalarType.Float32, copy: true);
                activations = forward.Activations.to_type(ScalarType.Float32, copy: true);
            }
        }
        var probabilities = loaded.Manifest.Probabilities(logits).cpu().data<float>().ToArray();
        var forwardEnded = DateTime.UtcNow;
        var classes = categories.Count;
        var (h, w) = ((int)activations.shape[2], (int)activations.shape[3]);

        // Boxes come from CAM maps of every class above the confidence threshold; views use the request's method.
        var boxPairs = new List<MapPair>();
        var viewPairs = new List<MapPair>();
        var top1 = new int[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var p = probabilities.AsSpan(i * classes, classes);
            top1[i] = ArgMax(p);
            for (var c = 0; c < classes; c++)
                if (p[c] >= options.BoxConfidence || c == top1[i]) boxPairs.Add(new MapPair(i, c, ClassMapMethods.Cam));
            var wanted = batch[i].Options.MapClasses.Count == 0 ? [top1[i]] : batch[i].Options.MapClasses;
            foreach (var c in wanted.Where(c => c >= 0 && c < classes)) viewPairs.Add(new MapPair(i, c, batch[i].Options.Method));
        }

        var maps = new Dictionary<MapPair, float[]>();
        using (inference_mode())
            foreach (var group in boxPairs.Concat(viewPairs).Distinct().GroupBy(pair => pair.Method))
            {
                var pairs = group.ToList();
                var index = tensor(pairs.Select(p => (long)p.Image).ToArray(), device: Device);
                var target = new ClassTarget(pairs.Select(p => (long)p.Class).ToArray());
                var values = group.Key.FromActivations(loaded.Network.Head, activations.index_select(0, index), target, images.index_select(0, index))
                    .cpu().data<float>().ToArray();
                for (var k = 0; k < pairs.Count; k++) maps[pairs[k]] = values.AsSpan(k * h * w, h * w).ToArray();
            }

        var predictions = new Prediction[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var request = batch[i];
            var p = probabilities.AsSpan(i * classes, classes).ToArray();
            var top = Enumerable.Range(0, classes).OrderByDescending(c => p[c]).Take(Math.Max(1, request.Options.TopK))
                .Select(c => new CategoryScore(categories[c], p[c])).ToList();
            var nodeProbabilities = tree.SumUp(p);
            // Sigmoid scores of several products can add up past 1; a category is at most certain.
            var path = tree.PathOf(top1[i]).Select(n => new PathLevel(n.Name, n.Path, Math.Min(1, nodeProbabilities[n.Index]))).ToList();
            var unknown = loaded.Manifest.UnknownThreshold is { } floor && p[top1[i]] < floor;
            var filed = unknown ? null : path.TakeWhile(level => level.Probability >= options.PathConfidence).LastOrDefault()?.Category;
            var boxes = boxPairs.Where(b => b.Image == i)
                .SelectMany(b => new ClassMapView(b.Class, categories[b.Class], b.Method, maps[b], w, h)
                    .FindBoxes(request.Photo.Width, request.Photo.Height, options.BoxThreshold, p[b.Class]))
                .OrderByDescending(b => b.Probability).ToList();
            var views = viewPairs.Where(m => m.Image == i).Select(m => new ClassMapView(m.Class, categories[m.Class], m.Method, maps[m], w, h)).ToList();
            predictions[i] = new Prediction(request.Source, request.Photo.Width, request.Photo.Height, top, path, boxes, views,
                p.Select(v => (double)v).ToList(), model.Id) { FiledUnder = filed, NotInCatalogue = unknown, InputSize = size };
        }
        var mapsEnded = DateTime.UtcNow;
        foreach (var request in batch)
        {
            EngineTelemetry.RecordSpan("retailcam.forward", request.Trace, batchStarted, forwardEnded, new("retailcam.batch.size", batch.Count), new("retailcam.input.side", size));
            EngineTelemetry.RecordSpan("retailcam.class_maps", request.Trace, forwardEnded, mapsEnded, new("retailcam.batch.size", batch.Count), new("retailcam.maps", maps.Count));
        }
        return predictions;
    }

    /// <summary>The side photos are resized to for a model when the photo is not known: the configured one, else the model's largest serving side.</summary>
    public int InputSizeFor(ModelManifest manifest) => options.InputSize > 0 ? options.InputSize : manifest.ServeInputSize ?? manifest.InputSize;

    /// <summary>The side a photo is resized to: the configured one, else the model's rule (<see cref="ModelManifest.ServeSideFor"/>).</summary>
    public int InputSizeFor(ModelManifest manifest, int photoWidth, int photoHeight) =>
        options.InputSize > 0 ? options.InputSize : manifest.ServeSideFor(photoWidth, photoHeight);

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
        }
        queueTracking.Dispose();
        requests.Writer.TryComplete();
        worker.Join();
        lock (gate)
        {
            foreach (var model in models.Values) Retire(model);
            models.Clear();
        }
    }

    private sealed record MapPair(int Image, int Class, ClassMapMethod Method);

    /// <param name="Started">When the caller handed the photo over (<see cref="Stopwatch.GetTimestamp"/>).</param>
    /// <param name="Trace">The request's span, under which the serving thread records the batch's work; default when untraced.</param>
    private sealed record Request(ServedModel Model, Image<Rgb24> Photo, string Source, PredictRequestOptions Options,
        TaskCompletionSource<Prediction> Result, long Started, ActivityContext Trace, CancellationToken Cancellation);

    /// <summary>A loaded model as served: its TorchSharp copy, and its ONNX Runtime session when that runtime computes the forward.</summary>
    private sealed class ServedNetwork(LoadedModel model, OnnxRuntimeForward? onnxRuntime) : IDisposable
    {
        public ModelManifest Manifest => model.Manifest;
        public CamNetwork Network => model.Network;
        public OnnxRuntimeForward? OnnxRuntime => onnxRuntime;

        public void Dispose()
        {
            onnxRuntime?.Dispose();
            model.Dispose();
        }
    }

    /// <summary>One loaded version of a model and who holds it; the predictor's lock guards the counts.</summary>
    private sealed class ServedModel(ModelSource source, Task<ServedNetwork> loading)
    {
        private CategoryTree? tree;

        public string Id => source.Id;
        public string Version => source.Version;
        public ModelManifest Manifest => source.Manifest;
        public Task<ServedNetwork> Loading => loading;
        public int Users { get; set; }
        public long LastUse { get; set; }
        public bool Retired { get; set; }

        /// <summary>Only the serving thread asks, so the tree is built once without a lock.</summary>
        public CategoryTree TreeFor(ModelManifest loaded) => tree ??= new CategoryTree(loaded.Categories);

        public void DisposeWhenLoaded() => _ = loading.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) t.Result.Dispose();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
