using System.Collections.Concurrent;
using RetailCam.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Engine.Data;

/// <summary>
/// Decoded photos kept as RGB bytes, within a budget in bytes, so a catalogue that fits is decoded once per
/// run instead of once per epoch: PNG and JPEG decoding is most of a training loader's work, and on a
/// machine whose cores also train, that work comes out of the training steps.
/// </summary>
/// <remarks>
/// Photos are admitted until the budget is full and then kept: epochs visit every photo in a new random
/// order, where least-recently-used eviction would evict each photo just before its next visit. A catalogue
/// larger than the budget is thus served from memory for the share that fits. Each caller gets its own
/// copy, so augmenting one cannot change what the next epoch reads. Unreadable files are not cached: the
/// decoder's error reaches the caller every time, as without a cache.
/// </remarks>
public sealed class DecodedImageCache(long budgetBytes)
{
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private long bytes;
    private long hits;
    private long misses;

    /// <summary>
    /// An eighth of the memory the process may use, at most 2 GiB: a few hundred full-size pack-shots or a
    /// Fashion-MNIST-sized catalogue fit, and a web app training beside its predictions keeps most memory.
    /// </summary>
    public static long DefaultBudgetBytes => Math.Min(2L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8);

    public long BudgetBytes { get; } = budgetBytes >= 0 ? budgetBytes : throw new ArgumentOutOfRangeException(nameof(budgetBytes));

    public long Bytes => Interlocked.Read(ref bytes);
    public int Count => entries.Count;
    public long Hits => Interlocked.Read(ref hits);
    public long Misses => Interlocked.Read(ref misses);

    /// <summary>The photo at <paramref name="path"/>, from memory or decoded (and kept when it fits); the caller disposes it.</summary>
    /// <exception cref="ImageDecodeException">The file cannot be read as an image.</exception>
    public Image<Rgb24> Decode(ImageFileDecoder decoder, string path)
    {
        if (entries.TryGetValue(path, out var entry))
        {
            Interlocked.Increment(ref hits);
            return Image.LoadPixelData<Rgb24>(entry.Pixels, entry.Width, entry.Height);
        }
        Interlocked.Increment(ref misses);
        var image = decoder.Decode(path);
        var size = (long)image.Width * image.Height * 3;
        if (Interlocked.Add(ref bytes, size) > BudgetBytes)
        {
            Interlocked.Add(ref bytes, -size);
            return image;
        }
        var pixels = new byte[size];
        image.CopyPixelDataTo(pixels);
        // Two threads decoding the same photo at once keep one copy.
        if (!entries.TryAdd(path, new Entry(pixels, image.Width, image.Height))) Interlocked.Add(ref bytes, -size);
        return image;
    }

    private sealed record Entry(byte[] Pixels, int Width, int Height);
}
