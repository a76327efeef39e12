using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using RetailCam.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Data;

/// <summary>An image file and its class index.</summary>
public sealed record LabelledImage(string Path, int Label)
{
    public static IReadOnlyList<LabelledImage> From(IEnumerable<CatalogueEntry> entries) =>
        entries.Select(e => new LabelledImage(e.FullPath, e.ClassIndex)).ToArray();
}

/// <summary>
/// A batch as tensors: images float32 [B,3,H,W] RGB 0–255, labels int64 [B] (−1 for a scene with no
/// product), multi-hot targets float32 [B,C] when the loader knows the class count, and the files.
/// </summary>
public sealed class TensorBatch(Tensor images, Tensor labels, Tensor? targets, IReadOnlyList<string> paths) : IDisposable
{
    public Tensor Images { get; } = images;
    public Tensor Labels { get; } = labels;
    public Tensor? Targets { get; } = targets;
    public IReadOnlyList<string> Paths { get; } = paths;

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        Targets?.Dispose();
    }
}

/// <summary>
/// A batch decoded and augmented by a worker, still as bytes [B,H,W,3] in a pooled buffer.
/// Tensors are made from it on the consumer's thread (<see cref="ToTensors"/>), because
/// TorchSharp dispose scopes belong to the thread that opens them. Dispose to return the buffer.
/// </summary>
public sealed class HostBatch : IDisposable
{
    private byte[]? pixels;

    internal HostBatch(int index, byte[] pixels, int count, int size, long[] labels, string[] paths, float[]? targets = null, int classCount = 0)
    {
        Index = index;
        this.pixels = pixels;
        Count = count;
        Size = size;
        Labels = labels;
        Paths = paths;
        Targets = targets;
        ClassCount = classCount;
    }

    /// <summary>Position of the batch in its epoch.</summary>
    public int Index { get; }
    public int Count { get; }
    public int Size { get; }
    public IReadOnlyList<long> Labels { get; }
    public IReadOnlyList<string> Paths { get; }

    /// <summary>Multi-hot targets, row-major [Count, ClassCount]; null when the loader was given no class count.</summary>
    public IReadOnlyList<float>? Targets { get; }

    public int ClassCount { get; }

    public ReadOnlySpan<byte> Pixels => (pixels ?? throw new ObjectDisposedException(nameof(HostBatch))).AsSpan(0, Count * Size * Size * 3);

    /// <summary>Images [B,3,H,W] float32 0–255 and labels [B] int64, in the caller's dispose scope.</summary>
    public TensorBatch ToTensors(Device? device = null)
    {
        var images = ImageTensors.FromInterleavedRgb(Pixels, Count, Size, Size, device);
        var labels = torch.tensor(Labels.ToArray(), ScalarType.Int64, device);
        var targets = Targets is null ? null : torch.tensor(Targets.ToArray(), [Count, ClassCount], ScalarType.Float32, device);
        return new TensorBatch(images, labels, targets, Paths);
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref pixels, null);
        if (buffer is not null)
            ArrayPool<byte>.Shared.Return(buffer);
    }
}

/// <summary>
/// Streams batches from disk. Workers decode, augment and assemble whole batches on background
/// threads and hand them over through a bounded channel, in epoch order, so at most
/// <see cref="DataLoaderOptions.PrefetchBatches"/> + <see cref="DataLoaderOptions.Workers"/>
/// finished batches exist at any time whatever the dataset size. Bad files are skipped and
/// reported (<see cref="Skipped"/>, <see cref="FileSkipped"/>); the epoch goes on with a smaller
/// batch. Order and augmentation depend only on the seed and the epoch, not on thread timing.
/// </summary>
public sealed class StreamingDataLoader
{
    private readonly IReadOnlyList<LabelledImage> items;
    private readonly DataLoaderOptions options;
    private readonly ImageFileDecoder decoder;
    private readonly DecodedImageCache? cache;
    private readonly TrainingAugmenter? augmenter;
    private readonly TrainingAugmenter? sceneAugmenter;
    private readonly ConcurrentDictionary<string, SkippedFile> skipped = new(StringComparer.Ordinal);
    private int pendingBatches;
    private int peakPendingBatches;

    /// <param name="augment">Training: random augmentation; otherwise a deterministic fit (evaluation).</param>
    /// <param name="cache">Decoded photos kept between epochs (and shared with other loaders of the run); null decodes every time.</param>
    public StreamingDataLoader(IReadOnlyList<LabelledImage> items, DataLoaderOptions options, bool augment, ImageFileDecoder? decoder = null,
        DecodedImageCache? cache = null)
    {
        this.items = items ?? throw new ArgumentNullException(nameof(items));
        this.options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        this.decoder = decoder ?? new ImageFileDecoder();
        this.cache = cache;
        augmenter = augment && options.Augmentation.Enabled ? new TrainingAugmenter(options.Augmentation, options.ImageSize) : null;
        sceneAugmenter = augmenter is null ? null
            : options.SceneBatches ? new TrainingAugmenter(options.Augmentation, options.SceneImageSize) : augmenter;
    }

    public event Action<SkippedFile>? FileSkipped;

    /// <summary>Files skipped so far (each once, however many epochs met it).</summary>
    public IReadOnlyList<SkippedFile> Skipped => skipped.Values.OrderBy(s => s.Path, StringComparer.Ordinal).ToArray();

    /// <summary>Finished batches not yet taken by the consumer, now and at the most.</summary>
    public int PendingBatches => Volatile.Read(ref pendingBatches);
    public int PeakPendingBatches => Volatile.Read(ref peakPendingBatches);

    public int BatchesPerEpoch => options.DropLast ? items.Count / options.BatchSize : (items.Count + options.BatchSize - 1) / options.BatchSize;

    /// <summary>The order of the dataset's items in an epoch: a seeded shuffle, or as given.</summary>
    public int[] EpochOrder(int epoch)
    {
        var order = Enumerable.Range(0, items.Count).ToArray();
        if (options.Shuffle)
            new Random(Mix(options.Seed, epoch, -1)).Shuffle(order);
        return order;
    }

    /// <summary>Blocking enumeration for a training loop running on its own thread.</summary>
    public IEnumerable<HostBatch> ReadEpoch(int epoch, CancellationToken cancellationToken = default) =>
        ReadEpoch(epoch, 0, cancellationToken);

    /// <summary>
    /// Blocking enumeration from batch <paramref name="skipBatches"/> of the epoch on: a resumed run
    /// continues the same order without decoding the batches it already trained on.
    /// </summary>
    public IEnumerable<HostBatch> ReadEpoch(int epoch, int skipBatches, CancellationToken cancellationToken = default)
    {
        var enumerator = ReadEpochAsync(epoch, skipBatches, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                yield return enumerator.Current;
        }
        finally
        {
            enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    public IAsyncEnumerable<HostBatch> ReadEpochAsync(int epoch, CancellationToken cancellationToken = default) =>
        ReadEpochAsync(epoch, 0, cancellationToken);

    public async IAsyncEnumerable<HostBatch> ReadEpochAsync(int epoch, int skipBatches, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skipBatches);
        var order = EpochOrder(epoch);
        var batchCount = BatchesPerEpoch;
        if (batchCount <= skipBatches)
            yield break;
        var channel = Channel.CreateBounded<HostBatch>(new BoundedChannelOptions(options.PrefetchBatches)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var workerCount = Math.Min(options.Workers, batchCount - skipBatches);
        // A worker takes a slot before it builds a batch and the consumer gives it back once it has taken that
        // batch, so finished batches never outnumber the queue plus the workers, even for the instant between the
        // consumer's read and its count (a worker writing into the freed place and building the next batch then
        // showed one batch more than the bound).
        using var slots = new SemaphoreSlim(options.PrefetchBatches + workerCount);
        // Worker w builds batches w, w+W, …; turn[w] says it is w's go to write, keeping epoch order.
        var turns = Enumerable.Range(0, workerCount).Select(w => new SemaphoreSlim(w == 0 ? 1 : 0)).ToArray();
        var workers = Enumerable.Range(0, workerCount)
            .Select(w => Task.Run(() => WorkAsync(w, workerCount, skipBatches, batchCount, order, epoch, turns, slots, channel.Writer, stop), CancellationToken.None))
            .ToArray();
        var completion = Task.WhenAll(workers).ContinueWith(t =>
        {
            var failure = t.Exception?.Flatten().InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException);
            channel.Writer.TryComplete(failure);
        }, TaskScheduler.Default);

        try
        {
            // The caller's token, not `stop`: when a worker fails it cancels `stop`, and the
            // consumer must then see the worker's exception (completing the channel), not a cancellation.
            while (await channel.Reader.WaitToReadAsync(cancellationToken))
            {
                // Checked per batch so a cancelled consumer gets no further batch from the queue.
                while (!cancellationToken.IsCancellationRequested && channel.Reader.TryRead(out var batch))
                {
                    Interlocked.Decrement(ref pendingBatches);
                    slots.Release();
                    yield return batch;
                }
            }
        }
        finally
        {
            // Consumer stopped early, was cancelled, or a worker failed: stop the rest and give
            // back the buffers of batches nobody will read.
            stop.Cancel();
            await completion;
            while (channel.Reader.TryRead(out var left))
            {
                Interlocked.Decrement(ref pendingBatches);
                left.Dispose();
            }
            foreach (var turn in turns)
                turn.Dispose();
        }
    }

    private async Task WorkAsync(int worker, int workerCount, int firstBatch, int batchCount, int[] order, int epoch, SemaphoreSlim[] turns, SemaphoreSlim slots,
        ChannelWriter<HostBatch> writer, CancellationTokenSource stop)
    {
        var token = stop.Token;
        try
        {
            for (var b = firstBatch + worker; b < batchCount; b += workerCount)
            {
                await slots.WaitAsync(token);
                var batch = Build(b, order, epoch, token);
                // A batch whose every file was skipped is never written: its slot is free again at once.
                if (batch is null) slots.Release();
                var hasTurn = false;
                try
                {
                    await turns[worker].WaitAsync(token);
                    hasTurn = true;
                    if (batch is not null)
                    {
                        await writer.WriteAsync(batch, token);
                        batch = null;
                    }
                }
                finally
                {
                    if (batch is not null)
                    {
                        Interlocked.Decrement(ref pendingBatches);
                        batch.Dispose();
                    }
                    if (hasTurn)
                        turns[(worker + 1) % workerCount].Release();
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            stop.Cancel();
            throw;
        }
    }

    /// <summary>Whether batch <paramref name="batchIndex"/> of <paramref name="epoch"/> is a batch of scenes at <see cref="DataLoaderOptions.SceneImageSize"/>.</summary>
    public bool IsSceneBatch(int epoch, int batchIndex) =>
        sceneAugmenter is not null && options.SceneBatches && options.ClassCount > 0 && options.Augmentation.SceneProbability > 0
        && new Random(Mix(options.Seed, epoch, -2 - batchIndex)).NextDouble() < options.Augmentation.SceneProbability;

    private HostBatch? Build(int batchIndex, int[] order, int epoch, CancellationToken token)
    {
        var sceneBatch = IsSceneBatch(epoch, batchIndex);
        var size = sceneBatch ? options.SceneImageSize : options.ImageSize;
        var imageBytes = size * size * 3;
        var start = batchIndex * options.BatchSize;
        var end = Math.Min(start + options.BatchSize, order.Length);
        var pixels = ArrayPool<byte>.Shared.Rent((end - start) * imageBytes);
        var labels = new List<long>(end - start);
        var paths = new List<string>(end - start);
        var classCount = options.ClassCount;
        var targets = classCount > 0 ? new List<float>((end - start) * classCount) : null;
        try
        {
            for (var position = start; position < end; position++)
            {
                token.ThrowIfCancellationRequested();
                var item = items[order[position]];
                if (skipped.ContainsKey(item.Path))
                    continue;
                try
                {
                    using var decoded = Decode(item.Path);
                    var random = new Random(Mix(options.Seed, epoch, order[position]));
                    IReadOnlyList<int> present;
                    Image<Rgb24> prepared;
                    if (sceneBatch
                        || (!options.SceneBatches && augmenter is not null && options.Augmentation.SceneProbability > 0 && classCount > 0
                            && random.NextDouble() < options.Augmentation.SceneProbability))
                        (prepared, present) = ComposeScene(item, decoded, random);
                    else
                        (prepared, present) = (augmenter is not null ? augmenter.Apply(decoded, random) : ImageFitter.Fit(decoded, size, size, options.EvaluationFit), [item.Label]);
                    using (prepared) prepared.CopyPixelDataTo(pixels.AsSpan(labels.Count * imageBytes, imageBytes));
                    labels.Add(present.Count == 0 ? -1 : present[0]);
                    paths.Add(item.Path);
                    if (targets is not null)
                    {
                        var row = new float[classCount];
                        foreach (var label in present) row[label] = 1;
                        targets.AddRange(row);
                    }
                }
                catch (ImageDecodeException ex)
                {
                    Skip(item.Path, ex);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(pixels);
            throw;
        }
        if (labels.Count == 0)
        {
            ArrayPool<byte>.Shared.Return(pixels);
            return null;
        }
        var pending = Interlocked.Increment(ref pendingBatches);
        int peak;
        while (pending > (peak = Volatile.Read(ref peakPendingBatches)) && Interlocked.CompareExchange(ref peakPendingBatches, pending, peak) != peak)
        {
        }
        return new HostBatch(batchIndex, pixels, labels.Count, size, labels.ToArray(), paths.ToArray(), targets?.ToArray(), classCount);
    }

    private Image<Rgb24> Decode(string path) => cache is null ? decoder.Decode(path) : cache.Decode(decoder, path);

    private void Skip(string path, ImageDecodeException ex)
    {
        var report = new SkippedFile(path, ex.Reason, ex.Kind);
        if (skipped.TryAdd(path, report))
            FileSkipped?.Invoke(report);
    }

    /// <summary>
    /// A scene around <paramref name="item"/>: it and up to MaxSceneProducts − 1 other items drawn with
    /// the item's own generator (so the scene depends on seed, epoch and item alone), or, as often as
    /// EmptySceneShare says, a background with no product. An unreadable extra is reported and left out.
    /// </summary>
    private (Image<Rgb24> Image, IReadOnlyList<int> Labels) ComposeScene(LabelledImage item, Image<Rgb24> decoded, Random random)
    {
        var augmentation = options.Augmentation;
        if (random.NextDouble() < augmentation.EmptySceneShare)
            return sceneAugmenter!.ComposeScene([], random);
        var extras = new List<Image<Rgb24>>();
        try
        {
            var products = new List<(Image<Rgb24> Photo, int Label)> { (decoded, item.Label) };
            var wanted = random.Next(augmentation.MaxSceneProducts);
            for (var k = 0; k < wanted; k++)
            {
                var other = items[random.Next(items.Count)];
                if (skipped.ContainsKey(other.Path)) continue;
                try
                {
                    var photo = Decode(other.Path);
                    extras.Add(photo);
                    products.Add((photo, other.Label));
                }
                catch (ImageDecodeException ex)
                {
                    Skip(other.Path, ex);
                }
            }
            return sceneAugmenter!.ComposeScene(products, random);
        }
        finally
        {
            foreach (var extra in extras) extra.Dispose();
        }
    }

    /// <summary>A seed from (seed, epoch, item) that does not depend on which thread draws it.</summary>
    internal static int Mix(int seed, int epoch, int item)
    {
        var z = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)epoch * 0xC2B2AE3D27D4EB4FUL ^ (ulong)(uint)item * 0x165667B19E3779F9UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }
}
