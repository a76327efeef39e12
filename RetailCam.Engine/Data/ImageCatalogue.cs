using RetailCam.Engine.Imaging;

namespace RetailCam.Engine.Data;

/// <summary>One image of a catalogue: where it is, its class and its split.</summary>
public sealed record CatalogueEntry(string RelativePath, string FullPath, int ClassIndex, string Category, DatasetSplit Split);

/// <summary>A file that could not be used, and why, in words for the user.</summary>
public sealed record SkippedFile(string Path, string Reason, ImageDecodeErrorKind? Kind = null);

/// <summary>
/// A dataset on disk: every folder that directly holds images is a category, named by its path
/// from the root with '/' separators (<c>Garments/Men/T-shirt</c>). Hidden files and folders
/// (dot names or the hidden attribute) and files without an image extension are ignored;
/// images whose header cannot be read or breaks the limits are skipped and reported, never fatal.
/// </summary>
public sealed class ImageCatalogue
{
    public string Root { get; }
    public CategoryTree Tree { get; }
    public IReadOnlyList<string> Categories => Tree.Classes;
    public IReadOnlyList<CatalogueEntry> Entries { get; }
    public IReadOnlyList<SkippedFile> Skipped { get; }

    private ImageCatalogue(string root, CategoryTree tree, IReadOnlyList<CatalogueEntry> entries, IReadOnlyList<SkippedFile> skipped)
    {
        Root = root;
        Tree = tree;
        Entries = entries;
        Skipped = skipped;
    }

    public IReadOnlyList<CatalogueEntry> InSplit(DatasetSplit split) => Entries.Where(e => e.Split == split).ToArray();

    public IReadOnlyDictionary<string, int> CountsPerCategory() =>
        Entries.GroupBy(e => e.Category).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>
    /// Walks the tree under <paramref name="root"/>. With <paramref name="checkHeaders"/> each
    /// image's header is read (not its pixels) so unreadable files are reported here rather than
    /// mid-training; files damaged further in are reported by the loader when it meets them.
    /// </summary>
    public static ImageCatalogue Scan(string root, ImageFileDecoder? decoder = null, StableSplitter? splitter = null, bool checkHeaders = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        var fullRoot = Path.GetFullPath(root);
        if (!Directory.Exists(fullRoot))
            throw new DirectoryNotFoundException($"The dataset folder '{root}' does not exist.");
        decoder ??= new ImageFileDecoder();
        splitter ??= StableSplitter.Default;

        var candidates = new List<(string Full, string Relative, string Category)>();
        var skipped = new List<SkippedFile>();
        Walk(fullRoot, fullRoot, candidates, skipped, cancellationToken);

        var readable = new (string Full, string Relative, string Category)?[candidates.Count];
        var headerProblems = new SkippedFile?[candidates.Count];
        Parallel.For(0, candidates.Count, new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, i =>
        {
            var candidate = candidates[i];
            if (!checkHeaders)
            {
                readable[i] = candidate;
                return;
            }
            try
            {
                decoder.Identify(candidate.Full);
                readable[i] = candidate;
            }
            catch (ImageDecodeException ex)
            {
                headerProblems[i] = new SkippedFile(candidate.Relative, ex.Reason, ex.Kind);
            }
        });
        skipped.AddRange(headerProblems.OfType<SkippedFile>());

        var kept = readable.Where(r => r.HasValue).Select(r => r!.Value).ToList();
        var categories = kept.Select(k => k.Category).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (categories.Length == 0)
            throw new InvalidDataException($"No readable images under '{root}'" + (skipped.Count > 0 ? $" ({skipped.Count} files skipped, e.g. {skipped[0].Path}: {skipped[0].Reason})." : "."));
        var classOf = categories.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        var entries = kept
            .OrderBy(k => k.Relative, StringComparer.Ordinal)
            .Select(k => new CatalogueEntry(k.Relative, k.Full, classOf[k.Category], k.Category, splitter.Assign(k.Relative)))
            .ToArray();
        return new ImageCatalogue(fullRoot, new CategoryTree(categories), entries, skipped.OrderBy(s => s.Path, StringComparer.Ordinal).ToArray());
    }

    private static void Walk(string root, string folder, List<(string, string, string)> candidates, List<SkippedFile> skipped, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IEnumerable<FileSystemInfo> children;
        try
        {
            children = new DirectoryInfo(folder).EnumerateFileSystemInfos().OrderBy(c => c.Name, StringComparer.Ordinal).ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            skipped.Add(new SkippedFile(Relative(root, folder), $"the folder cannot be listed ({ex.Message.TrimEnd('.')})."));
            return;
        }
        foreach (var child in children)
        {
            if (IsHidden(child))
                continue;
            if (child is DirectoryInfo directory)
            {
                // Symbolic links to folders could loop; a dataset is a plain tree.
                if (directory.LinkTarget is not null)
                    continue;
                Walk(root, directory.FullName, candidates, skipped, cancellationToken);
            }
            else if (ImageFileDecoder.ImageExtensions.Contains(child.Extension))
            {
                if (folder == root)
                    skipped.Add(new SkippedFile(child.Name, "images directly in the dataset folder have no category; put them in a sub-folder."));
                else
                    candidates.Add((child.FullName, Relative(root, child.FullName), Relative(root, folder)));
            }
        }
    }

    private static bool IsHidden(FileSystemInfo info) =>
        info.Name.StartsWith('.') || (info.Attributes & FileAttributes.Hidden) != 0;

    /// <summary>Path from the root with '/' separators, whatever the platform.</summary>
    public static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}
