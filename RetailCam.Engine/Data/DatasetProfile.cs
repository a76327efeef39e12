using RetailCam.Engine.Imaging;

namespace RetailCam.Engine.Data;

/// <summary>
/// What a catalogue looks like, as far as choosing training settings goes: how many photos of how
/// many categories, how unevenly spread, how large, and how many are plain-background pack-shots.
/// Sizes and backgrounds come from an evenly spaced sample, so profiling a 100,000-photo folder
/// reads a few dozen files.
/// </summary>
public sealed record DatasetProfile(
    int TrainImages,
    int ValidationImages,
    IReadOnlyList<int> TrainImagesPerClass,
    int MedianShortSide,
    double PackShotShare,
    double GreyscaleShare,
    int SampledImages)
{
    public int Classes => TrainImagesPerClass.Count;

    /// <summary>Largest class over smallest (∞ when a class has no training photo).</summary>
    public double Imbalance => TrainImagesPerClass.Min() == 0 ? double.PositiveInfinity : (double)TrainImagesPerClass.Max() / TrainImagesPerClass.Min();

    public const int DefaultHeaderSample = 200;
    public const int DefaultPixelSample = 40;

    public static DatasetProfile Of(ImageCatalogue catalogue, ImageFileDecoder? decoder = null, int headerSample = DefaultHeaderSample,
        int pixelSample = DefaultPixelSample, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalogue);
        decoder ??= new ImageFileDecoder();
        var train = catalogue.InSplit(DatasetSplit.Train);
        var perClass = new int[catalogue.Categories.Count];
        foreach (var entry in train) perClass[entry.ClassIndex]++;

        var sides = new List<int>();
        foreach (var entry in EvenlySpaced(catalogue.Entries, headerSample))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var header = decoder.Identify(entry.FullPath);
                sides.Add(Math.Min(header.Width, header.Height));
            }
            catch (ImageDecodeException)
            {
                // The loader reports unreadable files; the profile just does without them.
            }
        }
        int packShots = 0, greyscale = 0, decoded = 0;
        foreach (var entry in EvenlySpaced(catalogue.Entries, pixelSample))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                using var photo = decoder.Decode(entry.FullPath);
                decoded++;
                using (var matte = BackgroundMatting.Cut(photo))
                    if (matte is not null) packShots++;
                if (BackgroundMatting.IsGreyscale(photo)) greyscale++;
            }
            catch (ImageDecodeException)
            {
            }
        }
        sides.Sort();
        return new DatasetProfile(train.Count, catalogue.InSplit(DatasetSplit.Validation).Count, perClass,
            sides.Count == 0 ? 0 : sides[sides.Count / 2],
            decoded == 0 ? 0 : (double)packShots / decoded,
            decoded == 0 ? 0 : (double)greyscale / decoded,
            decoded);
    }

    /// <summary>At most <paramref name="count"/> items spread evenly over the list (all of them when it is shorter): a sample that does not favour the first folders.</summary>
    public static IEnumerable<T> EvenlySpaced<T>(IReadOnlyList<T> items, int count)
    {
        if (items.Count <= count)
        {
            foreach (var item in items) yield return item;
            yield break;
        }
        for (var i = 0; i < count; i++) yield return items[(int)((long)i * items.Count / count)];
    }
}
