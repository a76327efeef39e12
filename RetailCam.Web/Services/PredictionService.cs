using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Web.Services;

/// <summary>One uploaded photo's prediction, as the pages and the REST API see it.</summary>
public sealed record PhotoResult(string ContentHash, string FileName, Prediction Prediction)
{
    public string PhotoUrl => $"/api/uploads/{ContentHash}";

    public string MapUrl(int classIndex, ClassMapKind method, string colourMap) =>
        $"/api/maps/{ContentHash}.png?model={Uri.EscapeDataString(Prediction.ModelId)}&class={classIndex}&method={method}&colour={colourMap}";

    public string OverlayUrl(int classIndex, ClassMapKind method, string colourMap, double opacity, bool boxes) =>
        $"/api/maps/{ContentHash}/overlay.png?model={Uri.EscapeDataString(Prediction.ModelId)}&class={classIndex}&method={method}&colour={colourMap}" +
        $"&opacity={opacity.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)}&boxes={(boxes ? "true" : "false")}";
}

/// <summary>
/// The web app's door to inference: one predictor (micro-batching all users' requests), the choice of
/// model, uploads kept once by content hash, and heat maps rendered on request and cached, so pages
/// load images by URL instead of pushing pixels through the Blazor circuit.
/// </summary>
public sealed class PredictionService : IDisposable
{
    private const int MapCacheEntries = 256;
    private readonly Predictor predictor = new();
    private readonly ModelRegistry registry;
    private readonly ImageFileDecoder decoder;
    private readonly PhotoStore photos;
    private readonly ILogger<PredictionService> logger;
    private readonly SemaphoreSlim modelGate = new(1, 1);
    private readonly ConcurrentDictionary<string, byte[]> mapCache = new();
    private readonly ConcurrentQueue<string> mapCacheOrder = new();
    private ModelInfo? active;

    public PredictionService(IOptions<EngineOptions> engine, IOptions<ImagingOptions> imaging, PhotoStore photos, ILogger<PredictionService> logger)
    {
        registry = new ModelRegistry(engine.Value.ResolvedDataRoot);
        decoder = new ImageFileDecoder(imaging.Value);
        this.photos = photos;
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

    /// <summary>Decodes (typed errors for bad files), keeps the photo once by its hash, and predicts.</summary>
    public async Task<PhotoResult> PredictAsync(byte[] bytes, string fileName, PredictRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (await EnsureModelAsync(cancellationToken: cancellationToken) is null)
            throw new NoModelException();
        using var image = decoder.Decode(bytes, fileName);
        var hash = await photos.SaveAsync(bytes, fileName, cancellationToken);
        var prediction = await predictor.PredictAsync(image, fileName, options, cancellationToken);
        return new PhotoResult(hash, fileName, prediction);
    }

    /// <summary>Predicts a photo already kept (another model, or a reopened history entry).</summary>
    public async Task<PhotoResult> PredictStoredAsync(string hash, string fileName, PredictRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var bytes = await photos.ReadAsync(hash, cancellationToken);
        return await PredictAsync(bytes, fileName, options, cancellationToken);
    }

    /// <summary>Transparent heat map of one class at the photo's size (capped for speed; the browser scales it).</summary>
    public async Task<byte[]> RenderMapAsync(string hash, int classIndex, ClassMapKind method, ColourMap colourMap, CancellationToken cancellationToken)
    {
        var key = $"{active?.Id}|{active?.Created.Ticks}|{hash}|{classIndex}|{method}|{colourMap.Name}";
        if (mapCache.TryGetValue(key, out var cached)) return cached;
        var (map, width, height) = await MapAsync(hash, classIndex, method, cancellationToken);
        var (mapWidth, mapHeight) = ClassMapOverlay.TransparentSize(width, height);
        using var image = ClassMapOverlay.RenderTransparent(map.ToHeatMap(), colourMap, HeatMapAlpha.FromValue, 1f, mapWidth, mapHeight);
        var png = ClassMapOverlay.EncodePng(image);
        Remember(key, png);
        return png;
    }

    /// <summary>The photo with the map blended in and the boxes drawn: the file a user downloads.</summary>
    public async Task<byte[]> RenderOverlayAsync(string hash, int classIndex, ClassMapKind method, ColourMap colourMap, float opacity, bool boxes, CancellationToken cancellationToken)
    {
        ClassMapOverlay.CheckOpacity(opacity);
        var bytes = await photos.ReadAsync(hash, cancellationToken);
        using var photo = decoder.Decode(bytes, hash);
        var prediction = await predictor.PredictAsync(photo, hash, new PredictRequestOptions { Method = method, MapClasses = [classIndex] }, cancellationToken);
        using var overlay = ClassMapOverlay.Blend(photo, prediction.Maps[0].ToHeatMap(), colourMap, opacity);
        if (boxes)
            foreach (var box in prediction.Boxes.Where(b => b.Category == prediction.Maps[0].Category))
                BoxPainter.Draw(overlay, box.ToPixelBox(), new Rgb24(255, 255, 255), Math.Max(2, overlay.Width / 200));
        return ClassMapOverlay.EncodePng(overlay);
    }

    private async Task<(ClassMapView Map, int Width, int Height)> MapAsync(string hash, int classIndex, ClassMapKind method, CancellationToken cancellationToken)
    {
        if (await EnsureModelAsync(cancellationToken: cancellationToken) is null) throw new NoModelException();
        var bytes = await photos.ReadAsync(hash, cancellationToken);
        using var photo = decoder.Decode(bytes, hash);
        var prediction = await predictor.PredictAsync(photo, hash, new PredictRequestOptions { Method = method, MapClasses = [classIndex] }, cancellationToken);
        return (prediction.Maps[0], photo.Width, photo.Height);
    }

    private void Remember(string key, byte[] png)
    {
        if (!mapCache.TryAdd(key, png)) return;
        mapCacheOrder.Enqueue(key);
        while (mapCacheOrder.Count > MapCacheEntries && mapCacheOrder.TryDequeue(out var oldest)) mapCache.TryRemove(oldest, out _);
    }

    public static string HashOf(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public void Dispose()
    {
        predictor.Dispose();
        modelGate.Dispose();
    }
}

/// <summary>No model has been trained or placed yet (the quick-start run prepares one).</summary>
public sealed class NoModelException() : InvalidOperationException("No model is available yet: the quick-start run is preparing one, or train one with `retailcam train`.");
