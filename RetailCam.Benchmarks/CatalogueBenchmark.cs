using CsvHelper;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Processing;
using static TorchSharp.torch;

namespace RetailCam.Benchmarks;

/// <summary>Bulk categorisation of one kind of photo file against the predictor's batched work on the same photos in memory.</summary>
/// <param name="Kind">The photos: format and side, e.g. "png 256²".</param>
/// <param name="CatalogueVsBatchedPredictions">Median over rounds of catalogue / batched predictions.</param>
/// <param name="DecodeMs">One photo's read and decode on one thread, the mean over the photos: the work the catalogue adds.</param>
public sealed record CatalogueAtKind(string Kind, double CatalogueVsBatchedPredictions, RatioSpread Spread, IReadOnlyDictionary<string, double> ImagesPerSecond, double DecodeMs);

/// <param name="Photos">Photos per round of each contender.</param>
public sealed record CatalogueFigures(IReadOnlyList<CatalogueAtKind> Kinds, int Photos, int Rounds, int DecodeWorkers);

/// <summary>
/// `retailcam catalogue`'s work (files read and decoded on worker threads, predictions through the
/// predictor's micro-batches, a CSV row each) against the predictor alone on the same photos already
/// decoded, all asked at once so it runs full batches: what reading the files costs on top of the batched
/// forward, its class maps and boxes. Both use the same predictor, so the same model, precision and batches.
/// </summary>
public static class CatalogueBenchmark
{
    public const string Catalogue = "catalogue";
    public const string BatchedPredictions = "predictorBatched";

    /// <summary>A catalogue's pack-shots as the demo draws them (PNG, 256²), and a web shop's (JPEG, 800²).</summary>
    public static IReadOnlyList<(string Kind, int Side, bool Jpeg)> Kinds { get; } = [("png 256²", 256, false), ("jpeg 800²", 800, true)];

    public static CatalogueFigures Measure(Predictor predictor, ImageFileDecoder decoder, string workFolder, int photos, int rounds, Action<string>? log)
    {
        var results = new List<CatalogueAtKind>();
        var categoriser = new FileCategoriser(predictor, decoder);
        foreach (var (kind, side, jpeg) in Kinds)
        {
            var folder = Path.Combine(workFolder, $"catalogue-{side}-{(jpeg ? "jpeg" : "png")}");
            var files = WritePhotos(folder, photos, side, jpeg);
            var decoded = files.Select(decoder.Decode).ToList();
            try
            {
                var contenders = new List<Contender>
                {
                    Contender.Timed(Catalogue, () => Categorise(categoriser, folder, files)),
                    Contender.Timed(BatchedPredictions, () =>
                    {
                        Task.WaitAll(decoded.Select((p, i) => predictor.PredictAsync(p, files[i])).ToArray());
                        return decoded.Count;
                    }),
                };
                log?.Invoke($"catalogue, {kind}: {contenders.Count} contenders × {rounds} rounds of {photos} photos");
                var measured = Interleaved.MeasureRounds(contenders, rounds, log: log);
                // Timed after the rounds: the decoder's code is then as optimised as in a long bulk job.
                var decodeClock = System.Diagnostics.Stopwatch.StartNew();
                foreach (var file in files) decoder.Decode(file).Dispose();
                var decodeMs = decodeClock.Elapsed.TotalMilliseconds / files.Count;
                log?.Invoke($"catalogue, {kind}: {decodeMs:F2} ms to read and decode one photo on one thread");
                var spread = BenchArithmetic.Spread(measured.PerRound.Select(r => BenchArithmetic.Ratio(r[Catalogue], r[BatchedPredictions])).ToList());
                results.Add(new CatalogueAtKind(kind, spread.Median, spread, measured.Rates, decodeMs));
            }
            finally
            {
                foreach (var photo in decoded) photo.Dispose();
            }
        }
        return new CatalogueFigures(results, photos, rounds, FileCategoriser.DefaultDecodeWorkers);
    }

    /// <summary>The CLI's loop: every outcome becomes a CSV row (here into nothing, the file system is not what is measured).</summary>
    private static long Categorise(FileCategoriser categoriser, string folder, IReadOnlyList<string> files)
    {
        using var writer = new StreamWriter(Stream.Null);
        using var csv = new CsvWriter(writer, CatalogueCsv.Configuration);
        CatalogueCsv.WriteHeader(csv);
        var rows = 0L;
        var enumerator = categoriser.CategoriseAsync(files).GetAsyncEnumerator();
        try
        {
            while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                CatalogueCsv.WriteRow(csv, Path.GetRelativePath(folder, enumerator.Current.Path), enumerator.Current);
                if (enumerator.Current.Prediction is null) throw new InvalidOperationException($"{enumerator.Current.Path}: {enumerator.Current.Error}");
                rows++;
            }
        }
        finally
        {
            enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return rows;
    }

    private static List<string> WritePhotos(string folder, int count, int side, bool jpeg)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            using var square = RetailCam.Engine.Models.Import.SyntheticPhoto.Create(224, 100 + i);
            using var product = ImageTensors.ToImage(square);
            // A product on white filling most of the frame, as pack-shots are shot (and as the demo draws them). The
            // synthetic photo is per-pixel noise, which no pack-shot is: brought down to 28 px and back up it has the
            // smooth regions and edges of a product, and decodes as fast as the demo's clip-art pack-shots (≈ 0.8 ms at 256²).
            var productSide = side * 7 / 8;
            product.Mutate(x => x.Resize(28, 28).Resize(productSide, productSide, KnownResamplers.Bicubic));
            using var image = new Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(side, side, new SixLabors.ImageSharp.PixelFormats.Rgb24(255, 255, 255));
            image.Mutate(x => x.DrawImage(product, new Point((side - productSide) / 2, (side - productSide) / 2), 1f));
            var file = Path.Combine(folder, $"photo-{i:D4}.{(jpeg ? "jpg" : "png")}");
            if (jpeg) image.SaveAsJpeg(file, new JpegEncoder { Quality = 90 });
            else image.SaveAsPng(file, new PngEncoder());
            files.Add(file);
        }
        return files;
    }
}
