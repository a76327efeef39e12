using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Engine.Imaging;

/// <summary>What a fuzzing run saw: how every mutated file ended, the slowest decode, and the memory it took.</summary>
public sealed record FuzzReport(
    int Iterations,
    int Decoded,
    IReadOnlyDictionary<string, int> Refused,
    int Crashes,
    IReadOnlyList<string> CrashSamples,
    double MaxDecodeMilliseconds,
    string SlowestCase,
    long PeakWorkingSetGrowthBytes,
    long MemoryBudgetBytes,
    double Seconds);

/// <summary>
/// Mutation fuzzing of the safe decoder: valid JPEG, PNG, GIF, WebP, BMP and TIFF files, each mutated
/// by bit flips, "interesting" values written over header fields, truncation, inserted and repeated
/// blocks. Every mutant must decode or be refused with an <see cref="ImageDecodeException"/>; anything
/// else is a crash. Deterministic for a seed, so a crash found once is found again.
/// </summary>
public static class DecoderFuzzer
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE];
    private static readonly uint[] InterestingWords = [0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];

    /// <summary>The valid files the mutants start from: the same small picture (with transparency where the format has it) in each format.</summary>
    public static IReadOnlyList<(string Format, byte[] Bytes)> Seeds()
    {
        using var image = new Image<Rgba32>(48, 32);
        for (var y = 0; y < image.Height; y++)
        for (var x = 0; x < image.Width; x++)
            image[x, y] = new Rgba32((byte)(x * 5), (byte)(y * 7), (byte)((x + y) * 3), (byte)(x < 8 ? 128 : 255));
        var encoders = new (string, IImageEncoder)[]
        {
            ("JPEG", new JpegEncoder { Quality = 80 }),
            ("PNG", new PngEncoder()),
            ("GIF", new GifEncoder()),
            ("WebP", new WebpEncoder { FileFormat = WebpFileFormatType.Lossy }),
            ("WebP-lossless", new WebpEncoder { FileFormat = WebpFileFormatType.Lossless }),
            ("BMP", new BmpEncoder()),
            ("TIFF", new TiffEncoder()),
        };
        return encoders.Select(e =>
        {
            using var stream = new MemoryStream();
            image.Save(stream, e.Item2);
            return (e.Item1, stream.ToArray());
        }).ToList();
    }

    /// <summary>One mutant of <paramref name="seed"/>: one to four mutations, most of them near the header, where the sizes are.</summary>
    public static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = new List<byte>(seed);
        var count = random.Next(1, 5);
        for (var m = 0; m < count && bytes.Count > 0; m++)
        {
            // Headers hold the sizes and offsets a decoder trusts: aim there more often.
            int Offset() => random.NextDouble() < 0.6 ? random.Next(Math.Min(bytes.Count, 64)) : random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0:
                    var at = Offset();
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[Offset()] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 2:
                    var word = InterestingWords[random.Next(InterestingWords.Length)];
                    var start = Offset();
                    for (var i = 0; i < 4 && start + i < bytes.Count; i++) bytes[start + i] = (byte)(word >> (8 * (random.Next(2) == 0 ? i : 3 - i)));
                    break;
                case 3:
                    var cut = random.Next(1, Math.Max(2, bytes.Count));
                    if (cut < bytes.Count) bytes.RemoveRange(cut, bytes.Count - cut);
                    break;
                case 4:
                    var noise = new byte[random.Next(1, 64)];
                    random.NextBytes(noise);
                    bytes.InsertRange(Offset(), noise);
                    break;
                case 5:
                    var from = random.Next(bytes.Count);
                    var length = Math.Min(random.Next(1, 256), bytes.Count - from);
                    bytes.InsertRange(Offset(), bytes.GetRange(from, length));
                    break;
                default:
                    var zeroFrom = Offset();
                    for (var i = zeroFrom; i < Math.Min(bytes.Count, zeroFrom + random.Next(1, 32)); i++) bytes[i] = 0;
                    break;
            }
        }
        return [.. bytes];
    }

    /// <summary>The mutants of a run, cycling through the seeds, each with a file name of its format: the same for a seed wherever they are sent.</summary>
    public static IEnumerable<(string Format, string FileName, byte[] Bytes)> Mutants(int count, int seed)
    {
        var seeds = Seeds();
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var (format, original) = seeds[i % seeds.Count];
            yield return (format, $"fuzz-{i}.{format.ToLowerInvariant()}", Mutate(original, random));
        }
    }

    /// <summary>Decodes <paramref name="iterations"/> mutants, cycling through the seeds.</summary>
    public static FuzzReport Run(ImageFileDecoder decoder, int iterations, int seed = 1, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        var refused = new Dictionary<string, int>(StringComparer.Ordinal);
        var crashes = new List<string>();
        int decoded = 0, crashCount = 0;
        double slowest = 0;
        var slowestCase = "";
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var baseline = process.WorkingSet64;
        long peak = baseline;
        var clock = Stopwatch.StartNew();
        var i = 0;
        foreach (var (format, fileName, mutant) in Mutants(iterations, seed))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            try
            {
                using var image = decoder.Decode(mutant, fileName);
                decoded++;
            }
            catch (ImageDecodeException ex)
            {
                refused[ex.Kind.ToString()] = refused.GetValueOrDefault(ex.Kind.ToString()) + 1;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                crashCount++;
                if (crashes.Count < 10) crashes.Add($"#{i} {format}: {ex.GetType().Name}: {ex.Message}");
            }
            var elapsed = watch.Elapsed.TotalMilliseconds;
            if (elapsed > slowest) (slowest, slowestCase) = (elapsed, $"#{i} {format} ({mutant.Length} bytes)");
            if (i % 50 == 0)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
                progress?.Invoke(i);
            }
            i++;
        }
        process.Refresh();
        // The kernel's high-water mark catches a spike between samples; in a fresh process (the CLI) it is this run's.
        peak = Math.Max(peak, process.PeakWorkingSet64);
        // The most one decode may hold: an RGBA image at the pixel limit and its RGB copy, 7 bytes a pixel.
        var budget = decoder.Options.MaxPixels * 7;
        return new FuzzReport(iterations, decoded, refused, crashCount, crashes, Math.Round(slowest, 2), slowestCase, Math.Max(0, peak - baseline), budget, Math.Round(clock.Elapsed.TotalSeconds, 2));
    }
}
