using System.Security.Cryptography;
using RetailCam.Engine.Imaging;

namespace RetailCam.Engine.Data;

/// <summary>Photos of a dataset that share the same bytes: one photo filed twice, perhaps under two categories.</summary>
public sealed record DuplicateGroup(string Sha256, IReadOnlyList<string> Paths)
{
    /// <summary>The copies lie in more than one category: a labelling error, not just a spare copy.</summary>
    public bool AcrossCategories => Paths.Select(p => p[..Math.Max(0, p.LastIndexOf('/'))]).Distinct(StringComparer.Ordinal).Count() > 1;
}

/// <summary>A photo training cannot use, or should not: unreadable, or too small to show its product.</summary>
public sealed record UnusablePhoto(string Path, string Reason);

/// <summary>What a health check of a dataset found.</summary>
public sealed record DatasetHealthReport(
    IReadOnlyList<CategoryCount> Categories,
    IReadOnlyList<string> SmallCategories,
    double Imbalance,
    IReadOnlyList<DuplicateGroup> Duplicates,
    IReadOnlyList<UnusablePhoto> Unusable,
    int Photos)
{
    public bool Healthy => SmallCategories.Count == 0 && Imbalance <= DatasetHealth.ImbalanceWarning && Duplicates.Count == 0 && Unusable.Count == 0;
}

/// <summary>
/// Checks a dataset before it trains: photos per category (few is a weak category), the largest
/// category against the smallest, exact duplicates by SHA-256 within and across categories, and photos
/// that cannot be read or are too small. Reads every file once; decodes headers only.
/// </summary>
public static class DatasetHealth
{
    /// <summary>Fewer photos than this make a category hard to learn.</summary>
    public const int FewPhotos = 20;

    /// <summary>Largest over smallest category above this is worth a warning (training weighs the losses beyond 1.5×).</summary>
    public const double ImbalanceWarning = 3;

    /// <summary>A shorter side under this shows too little of a product.</summary>
    public const int TinySide = 32;

    public static DatasetHealthReport Check(string root, ImageFileDecoder? decoder = null, CancellationToken cancellationToken = default)
    {
        decoder ??= new ImageFileDecoder();
        var editor = new DatasetEditor(root, decoder);
        var categories = editor.Categories();
        var withPhotos = categories.Where(c => c.Count > 0).ToList();
        var byHash = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var unusable = new List<UnusablePhoto>();
        var photos = 0;
        foreach (var category in withPhotos)
        {
            foreach (var name in editor.Photos(category.Path, 0, int.MaxValue).FileNames)
            {
                cancellationToken.ThrowIfCancellationRequested();
                photos++;
                var relative = $"{category.Path}/{name}";
                byte[] bytes;
                try { bytes = File.ReadAllBytes(editor.PhotoPath(category.Path, name)); }
                catch (IOException ex) { unusable.Add(new UnusablePhoto(relative, $"cannot be read ({ex.Message.TrimEnd('.')})")); continue; }
                var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
                if (!byHash.TryGetValue(hash, out var paths)) byHash[hash] = paths = [];
                paths.Add(relative);
                try
                {
                    var header = decoder.Identify(bytes, relative);
                    if (Math.Min(header.Width, header.Height) < TinySide)
                        unusable.Add(new UnusablePhoto(relative, $"only {header.Width}×{header.Height} px; under {TinySide} px a product can hardly be seen"));
                    else
                        using (decoder.Decode(bytes, relative)) { }
                }
                catch (ImageDecodeException ex)
                {
                    unusable.Add(new UnusablePhoto(relative, ex.Reason));
                }
            }
        }
        var counts = withPhotos.Select(c => c.Count).ToList();
        var imbalance = counts.Count == 0 ? 1 : (double)counts.Max() / Math.Max(1, counts.Min());
        var duplicates = byHash.Where(kv => kv.Value.Count > 1)
            .Select(kv => new DuplicateGroup(kv.Key, kv.Value.Order(StringComparer.Ordinal).ToList()))
            .OrderByDescending(d => d.AcrossCategories).ThenBy(d => d.Paths[0], StringComparer.Ordinal).ToList();
        return new DatasetHealthReport(categories, withPhotos.Where(c => c.Count < FewPhotos).Select(c => c.Path).ToList(), imbalance, duplicates, unusable, photos);
    }
}
