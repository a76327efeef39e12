using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Storage;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Web.Services;

/// <summary>One uploaded photo's prediction, as the pages and the REST API see it.</summary>
public sealed record PhotoResult(string ContentHash, string FileName, Prediction Prediction)
{
    public string PhotoUrl => $"/api/uploads/{ContentHash}";

    public string MapUrl(int classIndex, ClassMapKind method, string colourMap) =>
        MapUrls.Map(ContentHash, Prediction.ModelId, classIndex, method, colourMap);

    public string OverlayUrl(int classIndex, ClassMapKind method, string colourMap, double opacity, bool boxes) =>
        $"/api/maps/{ContentHash}/overlay.png?model={Uri.EscapeDataString(Prediction.ModelId)}&class={classIndex}&method={method}&colour={colourMap}" +
        $"&opacity={opacity.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)}&boxes={(boxes ? "true" : "false")}";
}

/// <summary>Addresses of a photo's class maps; the model is part of the address, so a map always matches the model named.</summary>
public static class MapUrls
{
    public static string Map(string hash, string modelId, int classIndex, ClassMapKind method, string colourMap) =>
        $"/api/maps/{hash}.png?model={Uri.EscapeDataString(modelId)}&class={classIndex}&method={method}&colour={Uri.EscapeDataString(colourMap)}";
}

/// <summary>
/// One class map of a photo under one model and one method: the class's probability under that model
/// and the boxes found on that map (in photo pixels), which is what a Compare tile shows beside the image.
/// </summary>
public sealed record ClassMapSummary(string ContentHash, string ModelId, int ClassIndex, string Category, ClassMapKind Method,
    double Probability, int Width, int Height, IReadOnlyList<ProductBox> Boxes);

/// <summary>
/// The web app's door to inference: one predictor (micro-batching all users' requests), the choice of
/// model, uploads kept once by content hash, and heat maps rendered on request and cached, so pages
/// load images by URL instead of pushing pixels through the Blazor circuit.
/// </summary>
public sealed class PredictionService : IDisposable
{
    private const int MapCacheEntries = 256;
    // Each pooled model holds its own weights and worker thread: a few at most, enough for a comparison.
    private const int PooledModels = 3;
    private readonly PredictorOptions predictorOptions;
    private readonly Predictor predictor;
    private readonly ModelPredictorPool pool;
    private readonly ModelRegistry registry;
    private readonly ImageFileDecoder decoder;
    private readonly UploadStore uploads;
    private readonly PredictionHistory history;
    private readonly ILogger<PredictionService> logger;
    private readonly SemaphoreSlim modelGate = new(1, 1);
    private readonly ConcurrentDictionary<string, byte[]> mapCache = new();
    private readonly ConcurrentQueue<string> mapCacheOrder = new();
    // The forward pass behind a map, kept so that a tile's summary and its image (two requests) cost one pass.
    private readonly ConcurrentDictionary<string, Prediction> computedMaps = new();
    private readonly ConcurrentQueue<string> computedMapsOrder = new();
    private ModelInfo? active;

    public PredictionService(ModelRegistry registry, IOptions<PredictorOptions> inference, ImageFileDecoder decoder, UploadStore uploads,
        PredictionHistory history, ILogger<PredictionService> logger)
    {
        predictorOptions = inference.Value;
        this.registry = registry;
        predictor = new Predictor(predictorOptions);
        pool = new ModelPredictorPool(PooledModels, predictorOptions);
        this.decoder = decoder;
        this.uploads = uploads;
        this.history = history;
        this.logger = logger;
    }

    public event Action? ModelChanged;

    public ImageFileDecoder Decoder => decoder;

    /// <summary>The shared predictor, for bulk work that brings its own decoding.</summary>
    public Predictor Predictor => predictor;
    public ModelInfo? ActiveModel => active;
    public IReadOnlyList<ModelInfo> Models => registry.List();

    /// <summary>Serves the user's choice, or the newest model when none was made; null when no model exists yet.</summary>
    public async Task<ModelInfo?> EnsureModelAsync(string? id = null, CancellationToken cancellationToken = default)
    {
        var wanted = id is null ? active ?? registry.Default() : registry.Find(id) ?? throw new KeyNotFoundException($"Model '{id}' does not exist.");
        if (wanted is null) return null;
        if (active?.Id == wanted.Id && active.Created == wanted.Created) return active;
        await modelGate.WaitAsync(cancellationToken);
        try
        {
            if (active?.Id == wanted.Id && active.Created == wanted.Created) return active;
            await Task.Run(() => predictor.UseModel(wanted.Folder, wanted.Id), cancellationToken);
            active = wanted;
            logger.LogInformation("Serving model {Model} ({Backbone}, {Classes} categories)", wanted.Id, wanted.Backbone, wanted.Categories.Count);
        }
        finally
        {
            modelGate.Release();
        }
        ModelChanged?.Invoke();
        return active;
    }

    /// <summary>Decodes (typed errors for bad files), keeps the photo once by its hash, predicts, and records it in the history.</summary>
    public async Task<PhotoResult> PredictAsync(byte[] bytes, string fileName, PredictRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (await EnsureModelAsync(cancellationToken: cancellationToken) is null)
            throw new NoModelException();
        using var image = decoder.Decode(bytes, fileName);
        var upload = await uploads.SaveAsync(bytes, fileName, cancellationToken);
        var prediction = await predictor.PredictAsync(image, fileName, options, cancellationToken);
        await history.AddAsync(prediction, upload.ContentHash, options?.Method ?? ClassMapKind.Cam, cancellationToken: cancellationToken);
        return new PhotoResult(upload.ContentHash, fileName, prediction);
    }

    /// <summary>Predicts a photo already kept (with another model, or when a history entry is reopened); not recorded again.</summary>
    public async Task<PhotoResult> PredictStoredAsync(string hash, string fileName, PredictRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (await EnsureModelAsync(cancellationToken: cancellationToken) is null)
            throw new NoModelException();
        using var image = decoder.Decode(await ReadPhotoAsync(hash, cancellationToken), fileName);
        var prediction = await predictor.PredictAsync(image, fileName, options, cancellationToken);
        return new PhotoResult(hash, fileName, prediction);
    }

    public async Task<byte[]> ReadPhotoAsync(string hash, CancellationToken cancellationToken) =>
        await uploads.ReadBytesAsync(hash, cancellationToken) ?? throw new FileNotFoundException($"No uploaded photo has hash {hash}.");

    /// <summary>The model a map request names, or the one serving now when none is named; null when it does not exist.</summary>
    public async Task<ModelInfo?> FindModelAsync(string? id, CancellationToken cancellationToken = default) =>
        id is null ? await EnsureModelAsync(cancellationToken: cancellationToken) : registry.Find(id);

    /// <summary>Transparent heat map of one class, rendered with the model serving now.</summary>
    public Task<byte[]> RenderMapAsync(string hash, int classIndex, ClassMapKind method, ColourMap colourMap, CancellationToken cancellationToken) =>
        RenderMapAsync(hash, null, classIndex, method, colourMap, cancellationToken);

    /// <summary>Transparent heat map of one class under the named model (the serving one when null), at the photo's size (capped for speed; the browser scales it).</summary>
    public async Task<byte[]> RenderMapAsync(string hash, string? modelId, int classIndex, ClassMapKind method, ColourMap colourMap, CancellationToken cancellationToken)
    {
        var model = await RequireModelAsync(modelId, cancellationToken);
        var key = $"{MapKey(model, hash, classIndex, method)}|{colourMap.Name}";
        if (mapCache.TryGetValue(key, out var cached)) return cached;
        var prediction = await ComputeMapAsync(model, hash, classIndex, method, cancellationToken);
        var (mapWidth, mapHeight) = ClassMapOverlay.TransparentSize(prediction.Width, prediction.Height);
        using var image = ClassMapOverlay.RenderTransparent(prediction.Maps[0].ToHeatMap(), colourMap, HeatMapAlpha.FromValue, 1f, mapWidth, mapHeight);
        var png = ClassMapOverlay.EncodePng(image);
        Remember(mapCache, mapCacheOrder, key, png);
        return png;
    }

    /// <summary>What a map shows besides its pixels: the class's probability under that model and the boxes of that very map.</summary>
    public async Task<ClassMapSummary> DescribeMapAsync(string hash, string? modelId, int classIndex, ClassMapKind method, CancellationToken cancellationToken = default)
    {
        var model = await RequireModelAsync(modelId, cancellationToken);
        var prediction = await ComputeMapAsync(model, hash, classIndex, method, cancellationToken);
        var map = prediction.Maps[0];
        return new ClassMapSummary(hash, model.Id, classIndex, map.Category, method, prediction.Probabilities[classIndex],
            prediction.Width, prediction.Height, BoxesOf(map, prediction, predictorOptions.InputSizeFor(model.InputSize)));
    }

    /// <summary>
    /// The predictor gives boxes only from CAM maps of confident classes; a comparison wants the boxes of the map
    /// on screen, for any class and method, so they are found here the same way (regions above the threshold at
    /// the network's input size, scaled to the photo).
    /// </summary>
    private IReadOnlyList<ProductBox> BoxesOf(ClassMapView map, Prediction prediction, int inputSize) =>
        Predictor.ProductBoxes(map.Values, map.Width, map.Height, inputSize, prediction.Width, prediction.Height,
            predictorOptions.BoxThreshold, map.Category, prediction.Probabilities[map.ClassIndex]);

    /// <summary>The photo with the map blended in and the boxes drawn: the file a user downloads.</summary>
    public async Task<byte[]> RenderOverlayAsync(string hash, int classIndex, ClassMapKind method, ColourMap colourMap, float opacity, bool boxes, CancellationToken cancellationToken) =>
        await RenderOverlayAsync(hash, null, classIndex, method, colourMap, opacity, boxes, cancellationToken);

    /// <summary>The same, under the named model (the serving one when null).</summary>
    public async Task<byte[]> RenderOverlayAsync(string hash, string? modelId, int classIndex, ClassMapKind method, ColourMap colourMap, float opacity, bool boxes, CancellationToken cancellationToken)
    {
        ClassMapOverlay.CheckOpacity(opacity);
        var model = await RequireModelAsync(modelId, cancellationToken);
        var prediction = await ComputeMapAsync(model, hash, classIndex, method, cancellationToken);
        var bytes = await ReadPhotoAsync(hash, cancellationToken);
        using var photo = decoder.Decode(bytes, hash);
        using var overlay = ClassMapOverlay.Blend(photo, prediction.Maps[0].ToHeatMap(), colourMap, opacity);
        if (boxes)
            foreach (var box in prediction.Boxes.Where(b => b.Category == prediction.Maps[0].Category))
                BoxPainter.Draw(overlay, box.ToPixelBox(), new Rgb24(255, 255, 255), Math.Max(2, overlay.Width / 200));
        return ClassMapOverlay.EncodePng(overlay);
    }

    private async Task<ModelInfo> RequireModelAsync(string? modelId, CancellationToken cancellationToken)
    {
        var model = await FindModelAsync(modelId, cancellationToken);
        if (model is not null) return model;
        if (modelId is null) throw new NoModelException();
        throw new KeyNotFoundException($"Model '{modelId}' does not exist.");
    }

    private static string MapKey(ModelInfo model, string hash, int classIndex, ClassMapKind method) =>
        $"{model.Id}|{model.Created.Ticks}|{hash}|{classIndex}|{method}";

    /// <summary>One forward pass (and backward, for the gradient methods) of the photo under the model, asking for one class's map.</summary>
    private async Task<Prediction> ComputeMapAsync(ModelInfo model, string hash, int classIndex, ClassMapKind method, CancellationToken cancellationToken)
    {
        if (classIndex < 0 || classIndex >= model.Categories.Count)
            throw new ArgumentOutOfRangeException(nameof(classIndex), classIndex, $"Class {classIndex} does not exist: model {model.Id} has {model.Categories.Count} classes.");
        var key = MapKey(model, hash, classIndex, method);
        if (computedMaps.TryGetValue(key, out var known)) return known;
        var bytes = await ReadPhotoAsync(hash, cancellationToken);
        using var photo = decoder.Decode(bytes, hash);
        var prediction = await PredictWithAsync(model, photo, hash, new PredictRequestOptions { Method = method, MapClasses = [classIndex] }, cancellationToken);
        Remember(computedMaps, computedMapsOrder, key, prediction);
        return prediction;
    }

    /// <summary>
    /// Predicts with exactly the given model: the shared predictor when it serves that model, otherwise a pooled
    /// predictor of its own, so that a map asked for one model is never drawn by another the user switched to.
    /// </summary>
    private async Task<Prediction> PredictWithAsync(ModelInfo model, SixLabors.ImageSharp.Image<Rgb24> photo, string source, PredictRequestOptions options, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref active) is { } serving && serving.Id == model.Id && serving.Created == model.Created)
        {
            var prediction = await predictor.PredictAsync(photo, source, options, cancellationToken);
            // Another user may have switched the shared predictor between the check and the batch.
            if (prediction.ModelId == model.Id) return prediction;
        }
        using var lease = await pool.LeaseAsync(model, cancellationToken);
        return await lease.Predictor.PredictAsync(photo, source, options, cancellationToken);
    }

    private static void Remember<T>(ConcurrentDictionary<string, T> cache, ConcurrentQueue<string> order, string key, T value)
    {
        if (!cache.TryAdd(key, value)) return;
        order.Enqueue(key);
        while (order.Count > MapCacheEntries && order.TryDequeue(out var oldest)) cache.TryRemove(oldest, out _);
    }

    public void Dispose()
    {
        predictor.Dispose();
        pool.Dispose();
        modelGate.Dispose();
    }

    /// <summary>
    /// Predictors for models other than the serving one, most recently used kept. A predictor pushed out is
    /// disposed only when its last lease ends, so a request in flight never meets a disposed predictor.
    /// </summary>
    private sealed class ModelPredictorPool(int capacity, PredictorOptions options) : IDisposable
    {
        private readonly object gate = new();
        private readonly List<Entry> entries = [];

        public async Task<Lease> LeaseAsync(ModelInfo model, CancellationToken cancellationToken)
        {
            Entry entry;
            lock (gate)
            {
                entry = entries.FirstOrDefault(e => e.Model.Id == model.Id && e.Model.Created == model.Created) ?? new Entry(model, options);
                entries.Remove(entry);
                entries.Insert(0, entry);
                while (entries.Count > capacity)
                {
                    entries[^1].Retire();
                    entries.RemoveAt(entries.Count - 1);
                }
                entry.Acquire();
            }
            try
            {
                await entry.Loaded.WaitAsync(cancellationToken);
                return new Lease(entry);
            }
            catch
            {
                entry.Release();
                // A model that failed to load is not kept: the next request tries again and reports the reason.
                if (entry.Loaded.IsFaulted)
                    lock (gate)
                        if (entries.Remove(entry)) entry.Retire();
                throw;
            }
        }

        public void Dispose()
        {
            lock (gate)
            {
                foreach (var entry in entries) entry.Retire();
                entries.Clear();
            }
        }

        public sealed class Lease(Entry entry) : IDisposable
        {
            private int released;
            public Predictor Predictor => entry.Predictor;
            public void Dispose()
            {
                if (Interlocked.Exchange(ref released, 1) == 0) entry.Release();
            }
        }

        public sealed class Entry
        {
            private readonly object gate = new();
            private int users;
            private bool retired;

            public Entry(ModelInfo model, PredictorOptions options)
            {
                Model = model;
                Predictor = new Predictor(options);
                Loaded = Task.Run(() => Predictor.UseModel(model.Folder, model.Id));
            }

            public ModelInfo Model { get; }
            public Predictor Predictor { get; }
            public Task Loaded { get; }

            public void Acquire()
            {
                lock (gate) users++;
            }

            public void Release()
            {
                lock (gate)
                {
                    users--;
                    if (!retired || users > 0) return;
                }
                DisposeLater();
            }

            public void Retire()
            {
                lock (gate)
                {
                    retired = true;
                    if (users > 0) return;
                }
                DisposeLater();
            }

            // Disposing joins the worker thread after its last batch: not on a request's thread.
            private void DisposeLater() => _ = Task.Run(async () =>
            {
                try { await Loaded; } catch { /* the load's failure was reported to the request that waited for it */ }
                Predictor.Dispose();
            });
        }
    }
}

/// <summary>No model has been trained or placed yet (the quick-start run prepares one).</summary>
public sealed class NoModelException() : InvalidOperationException("No model is available yet: the quick-start run is preparing one, or train one with `retailcam train`.");
