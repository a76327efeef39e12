using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models.Storage;
using RetailCam.Storage;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Web.Services;

/// <summary>A dataset photo the model confidently places in another category, with what it needs to show the class map.</summary>
public sealed record SuspiciousLabel(string Category, string FileName, string Predicted, double Probability, string ContentHash, string ModelId, int PredictedClass);

/// <summary>One uploaded photo's prediction, as the pages and the REST API see it.</summary>
public sealed record PhotoResult(string ContentHash, string FileName, Prediction Prediction)
{
    /// <summary>The review item the prediction was queued as, when it was not sure enough to file by itself.</summary>
    public ReviewItem? Review { get; init; }

    public string PhotoUrl => $"/api/uploads/{ContentHash}";

    public string MapUrl(int classIndex, ClassMapMethod method, string colourMap) =>
        MapUrls.Map(ContentHash, Prediction.ModelId, classIndex, method, colourMap);

    public string MaskUrl(int classIndex, ClassMapMethod method) =>
        $"/api/maps/{ContentHash}/mask.png?model={Uri.EscapeDataString(Prediction.ModelId)}&class={classIndex}&method={Uri.EscapeDataString(method.Name)}";

    public string OverlayUrl(int classIndex, ClassMapMethod method, string colourMap, double opacity, bool boxes) =>
        $"/api/maps/{ContentHash}/overlay.png?model={Uri.EscapeDataString(Prediction.ModelId)}&class={classIndex}&method={Uri.EscapeDataString(method.Name)}&colour={colourMap}" +
        $"&opacity={opacity.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)}&boxes={(boxes ? "true" : "false")}";
}

/// <summary>
/// One uploaded file's outcome: its result, or why it could not be used in words for the user, with the
/// decoder's kind kept (the REST API answers with a status per kind).
/// </summary>
public sealed record UploadOutcome(string FileName, PhotoResult? Result, string? Error, ImageDecodeErrorKind? DecodeError = null, bool NoModel = false)
{
    /// <summary>The error with the file named, for lists that show several files.</summary>
    public string? Message => Error is null ? null : $"{FileName}: {Error}";
}

/// <summary>Addresses of a photo's class maps; the model is part of the address, so a map always matches the model named.</summary>
public static class MapUrls
{
    public static string Map(string hash, string modelId, int classIndex, ClassMapMethod method, string colourMap) =>
        $"/api/maps/{hash}.png?model={Uri.EscapeDataString(modelId)}&class={classIndex}&method={Uri.EscapeDataString(method.Name)}&colour={Uri.EscapeDataString(colourMap)}";
}

/// <summary>
/// One class map of a photo under one model and one method: the class's probability under that model
/// and the boxes found on that map (in photo pixels), which is what a Compare tile shows beside the image.
/// </summary>
public sealed record ClassMapSummary(string ContentHash, string ModelId, int ClassIndex, string Category, ClassMapMethod Method,
    double Probability, int Width, int Height, IReadOnlyList<ProductBox> Boxes);

/// <summary>
/// The web app's door to inference: one predictor serving every model by id (micro-batching all users'
/// requests), the model chosen to serve by default, uploads kept once by content hash, and heat maps
/// rendered on request and cached, so pages load images by URL instead of pushing pixels through the
/// Blazor circuit. Every map names its model, so it is always drawn by the model named, whichever one
/// another user switched to meanwhile.
/// </summary>
public sealed class PredictionService
{
    private const int MapCacheEntries = 256;
    private readonly PredictorOptions predictorOptions;
    private readonly Predictor predictor;
    private readonly ModelRegistry registry;
    private readonly ImageFileDecoder decoder;
    private readonly UploadStore uploads;
    private readonly PredictionHistory history;
    private readonly ReviewQueue reviews;
    private readonly ILogger<PredictionService> logger;
    private readonly ConcurrentDictionary<string, byte[]> mapCache = new();
    private readonly ConcurrentQueue<string> mapCacheOrder = new();
    // The forward pass behind a map, kept so that a tile's summary and its image (two requests) cost one pass.
    private readonly ConcurrentDictionary<string, Prediction> computedMaps = new();
    private readonly ConcurrentQueue<string> computedMapsOrder = new();
    private ModelInfo? active;

    public PredictionService(Predictor predictor, ModelRegistry registry, IOptions<PredictorOptions> inference, ImageFileDecoder decoder,
        UploadStore uploads, PredictionHistory history, ReviewQueue reviews, ILogger<PredictionService> logger)
    {
        predictorOptions = inference.Value;
        this.registry = registry;
        this.predictor = predictor;
        this.decoder = decoder;
        this.uploads = uploads;
        this.history = history;
        this.reviews = reviews;
        this.logger = logger;
    }

    public event Action? ModelChanged;

    public ImageFileDecoder Decoder => decoder;

    /// <summary>The shared predictor, for bulk work that brings its own decoding (name the model in each request).</summary>
    public Predictor Predictor => predictor;

    /// <summary>The model that answers uploads by default, or null before one exists.</summary>
    public ModelInfo? ActiveModel => Volatile.Read(ref active);
    public IReadOnlyList<ModelInfo> Models => registry.List();

    /// <summary>
    /// Serves the user's choice, or the model serving now, or the newest when none was made; null when no
    /// model exists yet. A model that fails to load is marked broken and, unless it was named, the newest
    /// good one serves instead.
    /// </summary>
    /// <exception cref="NoModelException">Models exist but none can be served (the reason says why), or the one named is broken.</exception>
    public async Task<ModelInfo?> EnsureModelAsync(string? id = null, CancellationToken cancellationToken = default)
    {
        if (id is not null)
        {
            var named = registry.Find(id) ?? throw new KeyNotFoundException($"Model '{id}' does not exist.");
            if (named.Broken is not null) throw new NoModelException($"Model '{id}' is broken: {named.Broken}");
            return await TryServeAsync(named, cancellationToken) is { } problem
                ? throw new NoModelException($"Model '{id}' is broken: {problem}")
                : named;
        }
        var tried = new HashSet<string>(StringComparer.Ordinal);
        string? lastProblem = null;
        var wanted = ActiveModel ?? registry.Default();
        while (wanted is not null)
        {
            if (await TryServeAsync(wanted, cancellationToken) is not { } problem) return wanted;
            tried.Add(wanted.Id);
            lastProblem = $"{wanted.Id} is broken: {problem}";
            wanted = registry.Default(m => tried.Contains(m.Id));
        }
        var broken = registry.List().FirstOrDefault(m => m.Broken is not null);
        if (lastProblem is null && broken is not null) lastProblem = $"{broken.Id} is broken: {broken.Broken}";
        return lastProblem is null ? null : throw new NoModelException($"No model can be served: {lastProblem}");
    }

    /// <summary>Loads the model and makes it the one serving; on a load failure marks it broken and returns why.</summary>
    private async Task<string?> TryServeAsync(ModelInfo wanted, CancellationToken cancellationToken)
    {
        try
        {
            await predictor.LoadAsync(wanted.Id, cancellationToken);
        }
        catch (ModelLoadException ex)
        {
            var reason = ex.Reason;
            if (registry.Locate(wanted.Id) is { } source) registry.MarkBroken(source, reason);
            logger.LogError(ex, "Model {Model} is broken and is not served", wanted.Id);
            if (ActiveModel?.Id == wanted.Id)
            {
                Volatile.Write(ref active, null);
                ModelChanged?.Invoke();
            }
            return reason;
        }
        catch (KeyNotFoundException)
        {
            // Deleted since it was listed: not a breakage, simply gone.
            if (ActiveModel?.Id == wanted.Id) Volatile.Write(ref active, null);
            return "it no longer exists.";
        }
        var previous = Interlocked.Exchange(ref active, wanted);
        if (previous?.Id == wanted.Id && previous.Created == wanted.Created) return null;
        logger.LogInformation("Serving model {Model} ({Backbone}, {Classes} categories)", wanted.Id, wanted.Backbone, wanted.Categories.Count);
        ModelChanged?.Invoke();
        return null;
    }

    /// <summary>
    /// The one upload flow of the pages and the REST API: checks the size, reads the file, predicts with the
    /// serving model and records it; a bad file gives its reason instead of throwing, so one never stops the rest.
    /// </summary>
    /// <param name="open">Opens the upload for reading, given the most bytes it may deliver.</param>
    /// <param name="reviewSource">Where the photo came from ("page", "api"), to queue an unsure prediction for review; null to queue nothing (comparisons).</param>
    /// <param name="owner">The signed-in user who sent it, recorded with the upload and the prediction.</param>
    public async Task<UploadOutcome> PredictUploadAsync(string fileName, long size, Func<long, Stream> open, PredictRequestOptions? options = null,
        string? reviewSource = null, string? owner = null, CancellationToken cancellationToken = default)
    {
        var limit = decoder.Options.MaxBytes;
        if (size > limit)
            return new UploadOutcome(fileName, null, $"the file is {size / 1e6:F1} MB; the limit is {limit / 1e6:F0} MB.", ImageDecodeErrorKind.TooLarge);
        try
        {
            using var buffer = new MemoryStream((int)size);
            await using (var stream = open(limit))
                await stream.CopyToAsync(buffer, cancellationToken);
            return new UploadOutcome(fileName, await PredictAsync(buffer.ToArray(), fileName, options, reviewSource, owner, cancellationToken), null);
        }
        catch (ImageDecodeException ex)
        {
            return new UploadOutcome(fileName, null, ex.Reason, ex.Kind);
        }
        catch (NoModelException ex)
        {
            return new UploadOutcome(fileName, null, ex.Message, NoModel: true);
        }
        catch (IOException ex)
        {
            return new UploadOutcome(fileName, null, $"the upload failed: {ex.Message}");
        }
    }

    /// <summary>Decodes (typed errors for bad files), keeps the photo once by its hash, predicts, and records it in the history.</summary>
    public async Task<PhotoResult> PredictAsync(byte[] bytes, string fileName, PredictRequestOptions? options = null, string? reviewSource = null,
        string? owner = null, CancellationToken cancellationToken = default)
    {
        var request = await ForServingModelAsync(options, cancellationToken);
        using var image = decoder.Decode(bytes, fileName);
        var upload = await uploads.SaveAsync(bytes, fileName, owner, cancellationToken);
        Prediction prediction;
        try
        {
            prediction = await predictor.PredictAsync(image, fileName, request, cancellationToken);
        }
        catch (ModelLoadException) when (options?.ModelId is null)
        {
            // The serving model was published again, broken, after it was chosen: choosing again marks it and falls back.
            request = await ForServingModelAsync(options, cancellationToken);
            prediction = await predictor.PredictAsync(image, fileName, request, cancellationToken);
        }
        await history.AddAsync(prediction, upload.ContentHash, request.Method, owner: owner, cancellationToken: cancellationToken);
        var review = reviewSource is null ? null : await reviews.OfferAsync(prediction, upload.ContentHash, reviewSource, cancellationToken);
        return new PhotoResult(upload.ContentHash, fileName, prediction) { Review = review };
    }

    /// <summary>
    /// Queues a bulk job's prediction for review when it is unsure, keeping the photo as an upload first so
    /// the reviewer sees it and its class map and filing can copy it; returns the item, or null when sure enough.
    /// </summary>
    public async Task<ReviewItem?> OfferForReviewAsync(string path, Prediction prediction, string source, CancellationToken cancellationToken = default)
    {
        if (!ReviewQueue.NeedsReview(prediction)) return null;
        var upload = await uploads.SaveAsync(await File.ReadAllBytesAsync(path, cancellationToken), prediction.Source, cancellationToken: cancellationToken);
        return await reviews.OfferAsync(prediction, upload.ContentHash, source, cancellationToken);
    }

    /// <summary>Predicts a photo already kept (with another model, or when a history entry is reopened); not recorded again.</summary>
    public async Task<PhotoResult> PredictStoredAsync(string hash, string fileName, PredictRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = await ForServingModelAsync(options, cancellationToken);
        using var image = decoder.Decode(await ReadPhotoAsync(hash, cancellationToken), fileName);
        var prediction = await predictor.PredictAsync(image, fileName, request, cancellationToken);
        return new PhotoResult(hash, fileName, prediction);
    }

    /// <summary>
    /// Photos of a dataset the serving model confidently places in another of its categories: likely
    /// labelling errors. Each suspicious photo is kept as an upload, so its class maps can be shown.
    /// Photos of categories the model does not know are left out.
    /// </summary>
    public async Task<IReadOnlyList<SuspiciousLabel>> FindSuspiciousLabelsAsync(RetailCam.Engine.Data.DatasetEditor editor, double confidence = SuspiciousConfidence,
        int maxPhotos = 2000, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellationToken = default)
    {
        var request = await ForServingModelAsync(new PredictRequestOptions { TopK = 1 }, cancellationToken);
        var model = registry.Find(request.ModelId!) ?? throw new NoModelException();
        var known = model.Categories.ToHashSet(StringComparer.Ordinal);
        var photos = editor.Categories().Where(c => c.Count > 0 && known.Contains(c.Path))
            .SelectMany(c => editor.Photos(c.Path, 0, int.MaxValue).FileNames.Select(f => (Category: c.Path, File: f))).Take(maxPhotos).ToList();
        var found = new List<SuspiciousLabel>();
        for (var i = 0; i < photos.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (category, file) = photos[i];
            try
            {
                var bytes = await File.ReadAllBytesAsync(editor.PhotoPath(category, file), cancellationToken);
                using var image = decoder.Decode(bytes, file);
                var prediction = await predictor.PredictAsync(image, file, request, cancellationToken);
                var top = prediction.Top[0];
                if (top.Category != category && top.Probability >= confidence)
                {
                    var upload = await uploads.SaveAsync(bytes, file, cancellationToken: cancellationToken);
                    found.Add(new SuspiciousLabel(category, file, top.Category, top.Probability, upload.ContentHash, model.Id, model.Categories.ToList().IndexOf(top.Category)));
                }
            }
            catch (ImageDecodeException)
            {
                // The health check's own list reports unreadable photos.
            }
            progress?.Report((i + 1, photos.Count));
        }
        return found.OrderByDescending(f => f.Probability).ToList();
    }

    public const double SuspiciousConfidence = 0.8;

    /// <summary>The request as asked, answered by the serving model unless it names one.</summary>
    private async Task<PredictRequestOptions> ForServingModelAsync(PredictRequestOptions? options, CancellationToken cancellationToken)
    {
        options ??= new PredictRequestOptions();
        if (options.ModelId is not null) return options;
        var model = await EnsureModelAsync(cancellationToken: cancellationToken) ?? throw new NoModelException();
        return options with { ModelId = model.Id };
    }

    public async Task<byte[]> ReadPhotoAsync(string hash, CancellationToken cancellationToken) =>
        await uploads.ReadBytesAsync(hash, cancellationToken) ?? throw new FileNotFoundException($"No uploaded photo has hash {hash}.");

    /// <summary>The model a map request names, or the one serving now when none is named; null when it does not exist.</summary>
    public async Task<ModelInfo?> FindModelAsync(string? id, CancellationToken cancellationToken = default) =>
        id is null ? await EnsureModelAsync(cancellationToken: cancellationToken) : registry.Find(id);

    /// <summary>Transparent heat map of one class under the named model (the serving one when null), at the photo's size (capped for speed; the browser scales it).</summary>
    public async Task<byte[]> RenderMapAsync(string hash, string? modelId, int classIndex, ClassMapMethod method, ColourMap colourMap, CancellationToken cancellationToken)
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

    /// <summary>
    /// What a map shows besides its pixels: the class's probability under that model and the boxes of that very
    /// map (the predictor's boxes come from CAM maps of confident classes; a comparison wants the map on screen).
    /// </summary>
    public async Task<ClassMapSummary> DescribeMapAsync(string hash, string? modelId, int classIndex, ClassMapMethod method, CancellationToken cancellationToken = default)
    {
        var model = await RequireModelAsync(modelId, cancellationToken);
        var prediction = await ComputeMapAsync(model, hash, classIndex, method, cancellationToken);
        var map = prediction.Maps[0];
        var probability = prediction.Probabilities[classIndex];
        return new ClassMapSummary(hash, model.Id, classIndex, map.Category, method, probability,
            prediction.Width, prediction.Height, map.FindBoxes(prediction.Width, prediction.Height, predictorOptions.BoxThreshold, probability));
    }

    /// <summary>The products' mask of one class map as a transparent layer (background dimmed, outline drawn), on the heat map's grid.</summary>
    public async Task<byte[]> RenderMaskAsync(string hash, string? modelId, int classIndex, ClassMapMethod method, CancellationToken cancellationToken)
    {
        var model = await RequireModelAsync(modelId, cancellationToken);
        var key = $"{MapKey(model, hash, classIndex, method)}|mask";
        if (mapCache.TryGetValue(key, out var cached)) return cached;
        var prediction = await ComputeMapAsync(model, hash, classIndex, method, cancellationToken);
        var (mask, width, height) = prediction.Maps[0].FindMask(prediction.Width, prediction.Height, predictorOptions.BoxThreshold);
        using var image = ClassMapOverlay.RenderMask(mask, width, height);
        var png = ClassMapOverlay.EncodePng(image);
        Remember(mapCache, mapCacheOrder, key, png);
        return png;
    }

    /// <summary>The photo with the map blended in and the boxes drawn, under the named model (the serving one when null): the file a user downloads.</summary>
    public async Task<byte[]> RenderOverlayAsync(string hash, string? modelId, int classIndex, ClassMapMethod method, ColourMap colourMap, float opacity, bool boxes, CancellationToken cancellationToken)
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

    private static string MapKey(ModelInfo model, string hash, int classIndex, ClassMapMethod method) =>
        $"{model.Id}|{model.Created.Ticks}|{hash}|{classIndex}|{method.Name}";

    /// <summary>One forward pass of the photo under exactly that model, asking for one class's map.</summary>
    private async Task<Prediction> ComputeMapAsync(ModelInfo model, string hash, int classIndex, ClassMapMethod method, CancellationToken cancellationToken)
    {
        if (classIndex < 0 || classIndex >= model.Categories.Count)
            throw new ArgumentOutOfRangeException(nameof(classIndex), classIndex, $"Class {classIndex} does not exist: model {model.Id} has {model.Categories.Count} classes.");
        var key = MapKey(model, hash, classIndex, method);
        if (computedMaps.TryGetValue(key, out var known)) return known;
        var bytes = await ReadPhotoAsync(hash, cancellationToken);
        using var photo = decoder.Decode(bytes, hash);
        var prediction = await predictor.PredictAsync(photo, hash, new PredictRequestOptions { ModelId = model.Id, Method = method, MapClasses = [classIndex] }, cancellationToken);
        Remember(computedMaps, computedMapsOrder, key, prediction);
        return prediction;
    }

    private static void Remember<T>(ConcurrentDictionary<string, T> cache, ConcurrentQueue<string> order, string key, T value)
    {
        if (!cache.TryAdd(key, value)) return;
        order.Enqueue(key);
        while (order.Count > MapCacheEntries && order.TryDequeue(out var oldest)) cache.TryRemove(oldest, out _);
    }

}

/// <summary>No model has been trained or placed yet (the quick-start run prepares one).</summary>
public sealed class NoModelException(string? reason = null)
    : InvalidOperationException(reason ?? "No model is available yet: the quick-start run is preparing one, or train one with `retailcam train`.");
