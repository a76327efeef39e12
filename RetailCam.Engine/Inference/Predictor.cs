using System.Threading.Channels;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RetailCam.Engine.Inference;

/// <summary>
/// Thread-safe predictions over one loaded model. Callers from any thread enqueue photos; one
/// dedicated thread gathers concurrent requests into micro-batches (one forward for many photos),
/// disposes every tensor of a batch in one scope, and answers each request. A newer model can be
/// switched in at any time: requests in flight finish on the old one, the next batch uses the new.
/// </summary>
public sealed class Predictor : IDisposable
{
    private readonly PredictorOptions options;
    private readonly Channel<Request> requests = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread worker;
    private readonly System.Collections.Concurrent.ConcurrentQueue<ServedModel> retired = new();
    private ServedModel? current;
    private long batchesRun;

    public Predictor(PredictorOptions? options = null)
    {
        this.options = options ?? new PredictorOptions();
        if (PredictorOptions.InputSizeProblem(this.options.InputSize) is { } problem)
            throw new ArgumentOutOfRangeException(nameof(options), problem);
        worker = new Thread(Serve) { IsBackground = true, Name = "RetailCam predictor" };
        worker.Start();
    }

    /// <summary>The model answering requests now, or null before the first <see cref="UseModel(string)"/>.</summary>
    public ModelManifest? Manifest => Volatile.Read(ref current)?.Manifest;

    public string? ModelId => Volatile.Read(ref current)?.Id;

    public CategoryTree? Categories => Volatile.Read(ref current)?.Tree;

    /// <summary>Forward passes run so far; fewer than requests answered when micro-batching gathers them.</summary>
    public long BatchesRun => Interlocked.Read(ref batchesRun);

    /// <summary>Loads a model folder (its own copy of the weights, in inference mode) and serves it from the next batch on.</summary>
    public void UseModel(string modelFolder, string? id = null)
    {
        var loaded = LoadForServing(modelFolder, reducedPrecision: false);
        // A second copy in bf16 for the forward pass where the CPU has it; gradient-based maps keep the float32 one.
        var fast = CpuFeatures.UsesBFloat16(options.Precision) ? LoadForServing(modelFolder, reducedPrecision: true) : null;
        var served = new ServedModel(id ?? Path.GetFileName(Path.GetFullPath(modelFolder).TrimEnd('/')), loaded, new CategoryTree(loaded.Manifest.Categories), fast);
        // Only the worker touches models, so it disposes replaced ones between batches.
        var previous = Interlocked.Exchange(ref current, served);
        if (previous is not null) retired.Enqueue(previous);
    }

    private LoadedModel LoadForServing(string modelFolder, bool reducedPrecision)
    {
        var model = ModelFolder.Load(modelFolder);
        PrepareForServing(model.Network, options, reducedPrecision);
        return model;
    }

    /// <summary>
    /// Turns a loaded network into a served copy: inference mode, no gradients for parameters, BatchNorm
    /// folded, optionally bf16, weights in the layout the input comes in. Folding leaves gradients with
    /// respect to activations as they were (in eval mode BatchNorm is an affine map), so Grad-CAM reads
    /// a served float32 copy as well.
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
        var model = Volatile.Read(ref current) ?? throw new InvalidOperationException("No model is loaded yet.");
        // Checked here so one bad request never fails the others batched with it.
        foreach (var c in request?.MapClasses ?? [])
            if (c < 0 || c >= model.Manifest.Categories.Count)
                throw new ArgumentOutOfRangeException(nameof(request), c, $"Class {c} does not exist: the model has {model.Manifest.Categories.Count} classes.");
        var pending = new Request(photo, source, request ?? new PredictRequestOptions(), new TaskCompletionSource<Prediction>(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
        if (!requests.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(Predictor));
        return pending.Result.Task.WaitAsync(cancellationToken);
    }

    private void Serve()
    {
        var batch = new List<Request>();
        while (requests.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (retired.TryDequeue(out var old)) old.Dispose();
            batch.Clear();
            var deadline = DateTime.UtcNow.AddMilliseconds(options.MaxWaitMilliseconds);
            while (batch.Count < options.MaxBatch)
            {
                if (requests.Reader.TryRead(out var next)) { if (!next.Cancellation.IsCancellationRequested) batch.Add(next); continue; }
                if (batch.Count == 0 || DateTime.UtcNow >= deadline) break;
                Thread.SpinWait(50);
                Thread.Yield();
            }
            if (batch.Count == 0) continue;

            var model = Volatile.Read(ref current)!;
            try
            {
                var results = Run(model, batch);
                Interlocked.Increment(ref batchesRun);
                for (var i = 0; i < batch.Count; i++) batch[i].Result.TrySetResult(results[i]);
            }
            catch (Exception ex)
            {
                foreach (var request in batch) request.Result.TrySetException(ex);
            }
        }
        while (retired.TryDequeue(out var old)) old.Dispose();
        Interlocked.Exchange(ref current, null)?.Dispose();
    }

    private Prediction[] Run(ServedModel model, List<Request> batch)
    {
        using var scope = NewDisposeScope();
        var size = InputSizeFor(model.Manifest);
        var device = model.Network.parameters().First().device;
        var images = ImageTensors.ToBatch(batch.Select(r => r.Photo).ToList(), size, size, FitMode.Stretch, device, options.ChannelsLast);

        Tensor logits, activations;
        using (inference_mode())
        {
            using var forward = model.ForwardNetwork.ForwardWithActivations(images);
            logits = forward.Logits.to_type(ScalarType.Float32, copy: true);
            activations = forward.Activations.to_type(ScalarType.Float32, copy: true);
        }
        var probabilities = logits.softmax(1).cpu().data<float>().ToArray();
        var classes = model.Manifest.Categories.Count;
        var (h, w) = ((int)activations.shape[2], (int)activations.shape[3]);

        // Boxes come from CAM maps of every class above the confidence threshold.
        var boxClasses = new List<(int Image, int Class)>();
        var mapRequests = new List<(int Image, int Class)>();
        var top1 = new int[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var p = probabilities.AsSpan(i * classes, classes);
            top1[i] = ArgMax(p);
            for (var c = 0; c < classes; c++)
                if (p[c] >= options.BoxConfidence || c == top1[i]) boxClasses.Add((i, c));
            var wanted = batch[i].Options.MapClasses.Count == 0 ? [top1[i]] : batch[i].Options.MapClasses;
            foreach (var c in wanted.Where(c => c >= 0 && c < classes)) mapRequests.Add((i, c));
        }

        float[] camMaps;
        var camIndex = new Dictionary<(int, int), int>();
        using (inference_mode())
        {
            var pairs = boxClasses.Union(mapRequests.Where(m => batch[m.Image].Options.Method == ClassMapKind.Cam)).Distinct().ToList();
            for (var k = 0; k < pairs.Count; k++) camIndex[pairs[k]] = k;
            var weights = model.Network.Head.ClassWeights.index_select(0, tensor(pairs.Select(p => (long)p.Class).ToArray(), device: device));
            var imageIndex = tensor(pairs.Select(p => (long)p.Image).ToArray(), device: device);
            var maps = einsum("pk,pkhw->phw", weights, activations.index_select(0, imageIndex)).relu();
            camMaps = ClassMapMethod.NormalisePerImage(maps).cpu().data<float>().ToArray();
        }

        var gradientMaps = new Dictionary<(int, int), float[]>();
        foreach (var group in mapRequests.Where(m => batch[m.Image].Options.Method != ClassMapKind.Cam).GroupBy(m => batch[m.Image].Options.Method))
        {
            var pairs = group.Distinct().ToList();
            var pairImages = images.index_select(0, tensor(pairs.Select(p => (long)p.Image).ToArray(), device: device));
            using var result = ClassMapMethod.For(group.Key).Compute(model.Network, pairImages, new ClassTarget(pairs.Select(p => (long)p.Class).ToArray()));
            var values = result.Maps.cpu().data<float>().ToArray();
            for (var k = 0; k < pairs.Count; k++) gradientMaps[pairs[k]] = values.AsSpan(k * h * w, h * w).ToArray();
        }

        var predictions = new Prediction[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var request = batch[i];
            var p = probabilities.AsSpan(i * classes, classes).ToArray();
            var top = Enumerable.Range(0, classes).OrderByDescending(c => p[c]).Take(Math.Max(1, request.Options.TopK))
                .Select(c => new CategoryScore(model.Manifest.Categories[c], p[c])).ToList();
            var nodeProbabilities = model.Tree.SumUp(p);
            var path = model.Tree.PathOf(top1[i]).Select(n => new PathLevel(n.Name, n.Path, nodeProbabilities[n.Index])).ToList();

            var boxes = new List<ProductBox>();
            foreach (var (_, c) in boxClasses.Where(b => b.Image == i))
            {
                var map = camMaps.AsSpan(camIndex[(i, c)] * h * w, h * w);
                boxes.AddRange(ProductBoxes(map, w, h, size, request.Photo.Width, request.Photo.Height, options.BoxThreshold, model.Manifest.Categories[c], p[c]));
            }

            var views = mapRequests.Where(m => m.Image == i).Select(m =>
            {
                var values = request.Options.Method == ClassMapKind.Cam
                    ? camMaps.AsSpan(camIndex[m] * h * w, h * w).ToArray()
                    : gradientMaps[m];
                return new ClassMapView(m.Class, model.Manifest.Categories[m.Class], request.Options.Method, values, w, h);
            }).ToList();

            predictions[i] = new Prediction(request.Source, request.Photo.Width, request.Photo.Height, top, path,
                boxes.OrderByDescending(b => b.Probability).ToList(), views, p.Select(v => (double)v).ToList(), model.Id);
        }
        return predictions;
    }

    /// <summary>The side photos are resized to for a model: the configured one, else the model's training size.</summary>
    public int InputSizeFor(ModelManifest manifest) => options.InputSizeFor(manifest.InputSize);

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>
    /// The products a class map shows: regions above the threshold, found at the network's input size
    /// (where the map's cells have their real extent) and scaled to the photo.
    /// </summary>
    public static IReadOnlyList<ProductBox> ProductBoxes(ReadOnlySpan<float> map, int width, int height, int inputSize,
        int photoWidth, int photoHeight, double threshold, string category, double probability)
    {
        var upsampled = UpsampleBilinear(map, width, height, inputSize, inputSize);
        return Localisation.ProductRegions(upsampled, inputSize, inputSize, threshold)
            .Select(region => region.Box.Scale((double)photoWidth / inputSize, (double)photoHeight / inputSize))
            .Select(box => new ProductBox(category, probability, Math.Max(0, box.XMin), Math.Max(0, box.YMin),
                Math.Min(photoWidth, box.XMax), Math.Min(photoHeight, box.YMax)))
            .ToList();
    }

    /// <summary>Bilinear upsampling with half-pixel centres (as align_corners=false), on a small map.</summary>
    public static float[] UpsampleBilinear(ReadOnlySpan<float> map, int width, int height, int targetWidth, int targetHeight)
    {
        var result = new float[targetWidth * targetHeight];
        var sx = (double)width / targetWidth;
        var sy = (double)height / targetHeight;
        for (var y = 0; y < targetHeight; y++)
        {
            var fy = Math.Clamp((y + 0.5) * sy - 0.5, 0, height - 1);
            var y0 = (int)fy; var y1 = Math.Min(y0 + 1, height - 1); var ty = (float)(fy - y0);
            for (var x = 0; x < targetWidth; x++)
            {
                var fx = Math.Clamp((x + 0.5) * sx - 0.5, 0, width - 1);
                var x0 = (int)fx; var x1 = Math.Min(x0 + 1, width - 1); var tx = (float)(fx - x0);
                var top = map[y0 * width + x0] * (1 - tx) + map[y0 * width + x1] * tx;
                var bottom = map[y1 * width + x0] * (1 - tx) + map[y1 * width + x1] * tx;
                result[y * targetWidth + x] = top * (1 - ty) + bottom * ty;
            }
        }
        return result;
    }

    public void Dispose()
    {
        requests.Writer.TryComplete();
        worker.Join();
    }

    private sealed record Request(Image<Rgb24> Photo, string Source, PredictRequestOptions Options, TaskCompletionSource<Prediction> Result, CancellationToken Cancellation);

    private sealed class ServedModel(string id, LoadedModel loaded, CategoryTree tree, LoadedModel? reducedPrecision) : IDisposable
    {
        public string Id { get; } = id;
        public ModelManifest Manifest => loaded.Manifest;
        public Models.CamNetwork Network => loaded.Network;

        /// <summary>The network for the class-map forward pass: the bf16 copy where there is one.</summary>
        public Models.CamNetwork ForwardNetwork => reducedPrecision?.Network ?? loaded.Network;
        public CategoryTree Tree { get; } = tree;

        public void Dispose()
        {
            loaded.Dispose();
            reducedPrecision?.Dispose();
        }
    }
}
