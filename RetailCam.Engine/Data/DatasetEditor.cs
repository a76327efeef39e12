using System.IO.Compression;
using System.Security.Cryptography;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Layout;

namespace RetailCam.Engine.Data;

/// <summary>A category of a dataset: its path from the root ('/'-separated) and how many photos it holds itself.</summary>
public sealed record CategoryCount(string Path, int Count);

/// <summary>A photo stored in a category, under the file name it got there.</summary>
public sealed record StoredPhoto(string Category, string FileName, string Sha256, bool AlreadyPresent = false);

/// <summary>A file that was not stored, and why, in words a user can act on.</summary>
public sealed record RefusedPhoto(string FileName, string Reason);

/// <summary>What an upload of many files did: every file is in exactly one of the two lists.</summary>
public sealed record PhotoUploadOutcome(IReadOnlyList<StoredPhoto> Stored, IReadOnlyList<RefusedPhoto> Refused);

/// <summary>A page of a category's photos (file names, ordinal order) and how many there are in all.</summary>
public sealed record PhotoPage(IReadOnlyList<string> FileNames, int Total);

/// <summary>An edit that cannot be made (unknown category, name taken, …): the message says which and why.</summary>
public class DatasetEditException(string message) : InvalidOperationException(message);

/// <summary>The category or photo named does not exist.</summary>
public sealed class DatasetItemNotFoundException(string message) : DatasetEditException(message);

/// <summary>
/// Edits a dataset's folder tree, the form training reads (<see cref="ImageCatalogue"/>): categories are
/// folders, photos are the image files in them. Every path a caller names is checked segment by segment
/// (<see cref="PathSegment"/>) and resolved inside the root, and symbolic links are never followed.
/// Every photo goes through the safe decoder before it is kept, and is written under a temporary name
/// first, so a failed upload leaves nothing behind.
/// </summary>
public sealed class DatasetEditor
{
    /// <summary>Entries a zip may hold; a larger archive is refused before anything is written.</summary>
    public const int MaxZipEntries = 20_000;

    private readonly ImageFileDecoder decoder;

    public DatasetEditor(string root, ImageFileDecoder? decoder = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        if (!Directory.Exists(Root)) throw new DatasetEditException($"The dataset folder '{Root}' does not exist.");
        this.decoder = decoder ?? new ImageFileDecoder();
    }

    public string Root { get; }

    /// <summary>Every category folder, empty ones too, in path order, with the photos each holds directly.</summary>
    public IReadOnlyList<CategoryCount> Categories()
    {
        var result = new List<CategoryCount>();
        void Walk(string folder)
        {
            foreach (var child in new DirectoryInfo(folder).EnumerateDirectories().OrderBy(d => d.Name, StringComparer.Ordinal))
            {
                if (child.LinkTarget is not null || !PathSegment.IsValid(child.Name)) continue;
                result.Add(new CategoryCount(ImageCatalogue.Relative(Root, child.FullName), PhotoFiles(child.FullName).Count()));
                Walk(child.FullName);
            }
        }
        Walk(Root);
        return result;
    }

    /// <summary>Creates a category (and any missing parents); returns its normalised path.</summary>
    public string AddCategory(string category)
    {
        var (path, folder) = Resolve(category);
        if (File.Exists(folder)) throw new DatasetEditException($"'{path}' is a file, not a category.");
        Directory.CreateDirectory(folder);
        return path;
    }

    /// <summary>Renames or moves a category with everything in it; the target must not exist yet.</summary>
    public string MoveCategory(string category, string newCategory)
    {
        var (from, fromFolder) = ResolveExisting(category);
        var (to, toFolder) = Resolve(newCategory);
        if ((to + "/").StartsWith(from + "/", StringComparison.Ordinal))
            throw new DatasetEditException($"'{from}' cannot move into itself ('{to}').");
        if (Directory.Exists(toFolder) || File.Exists(toFolder))
            throw new DatasetEditException($"'{to}' already exists; choose another name or move the photos one by one.");
        Directory.CreateDirectory(Path.GetDirectoryName(toFolder)!);
        Directory.Move(fromFolder, toFolder);
        return to;
    }

    /// <summary>Deletes a category, its sub-categories and their photos; returns how many photos went.</summary>
    public int DeleteCategory(string category)
    {
        var (_, folder) = ResolveExisting(category);
        var photos = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Count(f => ImageFileDecoder.ImageExtensions.Contains(Path.GetExtension(f)));
        Directory.Delete(folder, recursive: true);
        return photos;
    }

    /// <summary>A page of the photos of one category.</summary>
    public PhotoPage Photos(string category, int skip = 0, int take = 60)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(take);
        var (_, folder) = ResolveExisting(category);
        var names = PhotoFiles(folder).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        return new PhotoPage(names.Skip(skip).Take(take).ToList(), names.Count);
    }

    /// <summary>The full path of a stored photo, checked to lie in its category.</summary>
    public string PhotoPath(string category, string fileName)
    {
        var (path, folder) = ResolveExisting(category);
        var file = PathSegment.Join(folder, fileName, "photo file name");
        if (!File.Exists(file) || new FileInfo(file).LinkTarget is not null)
            throw new DatasetItemNotFoundException($"'{path}' holds no photo '{fileName}'.");
        return file;
    }

    /// <summary>Moves one photo to another (existing) category; a name taken there gets a number.</summary>
    public StoredPhoto MovePhoto(string category, string fileName, string toCategory)
    {
        var source = PhotoPath(category, fileName);
        var (to, toFolder) = ResolveExisting(toCategory);
        var target = FreeName(toFolder, fileName);
        File.Move(source, target);
        return new StoredPhoto(to, Path.GetFileName(target), Sha256Of(target));
    }

    public void DeletePhoto(string category, string fileName) => File.Delete(PhotoPath(category, fileName));

    /// <summary>
    /// Decodes <paramref name="content"/> with the safe decoder and keeps it in the category under a safe
    /// form of <paramref name="fileName"/>. The same bytes already in that category are not stored twice.
    /// Throws <see cref="ImageDecodeException"/> for a file that is not a readable photo.
    /// </summary>
    public async Task<StoredPhoto> AddPhotoAsync(string category, string fileName, Stream content, CancellationToken cancellationToken = default)
    {
        var (path, folder) = ResolveExisting(category);
        var name = SafeFileName(fileName);
        var bytes = await ReadBoundedAsync(content, fileName, cancellationToken);
        using (decoder.Decode(bytes, fileName)) { }
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        foreach (var existing in PhotoFiles(folder))
            if (new FileInfo(existing).Length == bytes.Length && Sha256Of(existing) == hash)
                return new StoredPhoto(path, Path.GetFileName(existing), hash, AlreadyPresent: true);
        var temporary = Path.Combine(folder, $".upload-{Guid.NewGuid():N}.tmp");
        try
        {
            await File.WriteAllBytesAsync(temporary, bytes, cancellationToken);
            var target = FreeName(folder, name);
            File.Move(temporary, target);
            return new StoredPhoto(path, Path.GetFileName(target), hash);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>Many files into one category: each stored or refused on its own, so one bad file costs nothing else.</summary>
    public async Task<PhotoUploadOutcome> AddPhotosAsync(string category, IEnumerable<(string FileName, Stream Content)> files, CancellationToken cancellationToken = default)
    {
        ResolveExisting(category);
        var stored = new List<StoredPhoto>();
        var refused = new List<RefusedPhoto>();
        foreach (var (fileName, content) in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try { stored.Add(await AddPhotoAsync(category, fileName, content, cancellationToken)); }
            catch (Exception ex) when (ex is ImageDecodeException or InvalidPathSegmentException or DatasetEditException)
            {
                refused.Add(new RefusedPhoto(fileName, ReasonOf(ex)));
            }
        }
        return new PhotoUploadOutcome(stored, refused);
    }

    /// <summary>
    /// A zip whose folders are categories (below <paramref name="intoCategory"/>, or the root): each image
    /// entry is decoded and stored in the category of its folder, created as needed. Entries at the top with
    /// no folder, with unsafe names or that are not readable photos are refused one by one.
    /// </summary>
    public async Task<PhotoUploadOutcome> ImportZipAsync(Stream zip, string? intoCategory = null, CancellationToken cancellationToken = default)
    {
        var prefix = string.IsNullOrEmpty(intoCategory) ? "" : ResolveExisting(intoCategory).Path + "/";
        ZipArchive archive;
        try { archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true); }
        catch (InvalidDataException ex) { throw new DatasetEditException($"The file is not a readable zip archive ({ex.Message.TrimEnd('.')})."); }
        using (archive)
        {
            if (archive.Entries.Count > MaxZipEntries)
                throw new DatasetEditException($"The zip holds {archive.Entries.Count} entries; at most {MaxZipEntries} are taken at once.");
            var stored = new List<StoredPhoto>();
            var refused = new List<RefusedPhoto>();
            foreach (var entry in archive.Entries.Where(e => !string.IsNullOrEmpty(e.Name)))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var entryPath = entry.FullName.Replace('\\', '/');
                var folder = Path.GetDirectoryName(entryPath)?.Replace('\\', '/') ?? "";
                // Hidden entries (macOS's __MACOSX, .DS_Store) are the archiver's, not the user's.
                if (entryPath.Split('/').Any(s => (s.StartsWith('.') && s != "..") || s == "__MACOSX")) continue;
                if (!ImageFileDecoder.ImageExtensions.Contains(Path.GetExtension(entry.Name)))
                {
                    refused.Add(new RefusedPhoto(entryPath, "not an image file (by its extension)."));
                    continue;
                }
                if (folder.Length == 0 && prefix.Length == 0)
                {
                    refused.Add(new RefusedPhoto(entryPath, "images at the top of the zip have no category; put them in folders named after their categories."));
                    continue;
                }
                if (entry.Length > decoder.Options.MaxBytes)
                {
                    refused.Add(new RefusedPhoto(entryPath, $"the file is {entry.Length} bytes; at most {decoder.Options.MaxBytes} are read."));
                    continue;
                }
                try
                {
                    var category = AddCategory(prefix + folder);
                    await using var content = entry.Open();
                    stored.Add(await AddPhotoAsync(category, entry.Name, content, cancellationToken));
                }
                catch (Exception ex) when (ex is ImageDecodeException or InvalidPathSegmentException or DatasetEditException or InvalidDataException)
                {
                    refused.Add(new RefusedPhoto(entryPath, ReasonOf(ex)));
                }
            }
            return new PhotoUploadOutcome(stored, refused);
        }
    }

    /// <summary>
    /// What a user drops into <paramref name="category"/>: photos, and .zip archives whose folders become
    /// categories below it. Each file is stored or refused on its own; a zip's refusals are named inside it
    /// (<c>catalogue.zip/Toys/bad.png</c>). A stream that cannot seek (a browser upload) is spooled to a
    /// temporary file before a zip is opened, so an archive never has to fit in memory.
    /// </summary>
    /// <param name="category">Null or empty: the dataset's root, where only a zip's folders can become categories.</param>
    public async Task<PhotoUploadOutcome> AddFilesAsync(string? category, IEnumerable<(string FileName, Stream Content)> files, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(category)) category = null;
        else ResolveExisting(category);
        var stored = new List<StoredPhoto>();
        var refused = new List<RefusedPhoto>();
        foreach (var (fileName, content) in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!fileName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
            {
                if (category is null)
                {
                    refused.Add(new RefusedPhoto(fileName, "a photo needs a category: choose one, or send a .zip whose folders are categories."));
                    continue;
                }
                var outcome = await AddPhotosAsync(category, [(fileName, content)], cancellationToken);
                stored.AddRange(outcome.Stored);
                refused.AddRange(outcome.Refused);
                continue;
            }
            string? spooled = null;
            try
            {
                var zip = content;
                if (!content.CanSeek)
                {
                    spooled = Path.Combine(Path.GetTempPath(), $"retailcam-zip-{Guid.NewGuid():N}.zip");
                    await using (var target = File.Create(spooled)) await content.CopyToAsync(target, cancellationToken);
                    zip = File.OpenRead(spooled);
                }
                await using (zip == content ? null : zip)
                {
                    var outcome = await ImportZipAsync(zip, category, cancellationToken);
                    stored.AddRange(outcome.Stored);
                    refused.AddRange(outcome.Refused.Select(r => r with { FileName = $"{fileName}/{r.FileName}" }));
                }
            }
            catch (Exception ex) when (ex is DatasetEditException or IOException)
            {
                refused.Add(new RefusedPhoto(fileName, ex.Message));
            }
            finally
            {
                if (spooled is not null) File.Delete(spooled);
            }
        }
        return new PhotoUploadOutcome(stored, refused);
    }

    /// <summary>A file name safe to keep: the last segment, unsafe characters replaced, an image extension kept.</summary>
    public static string SafeFileName(string fileName)
    {
        var name = Path.GetFileName((fileName ?? "").Replace('\\', '/'));
        var extension = Path.GetExtension(name).ToLowerInvariant();
        if (!ImageFileDecoder.ImageExtensions.Contains(extension))
            throw new DatasetEditException($"'{name}' does not end in an image extension ({string.Join(", ", ImageFileDecoder.ImageExtensions.Order())}).");
        var stem = new string(Path.GetFileNameWithoutExtension(name).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()).Trim('.', '_');
        if (stem.Length == 0) stem = "photo";
        if (stem.Length > PathSegment.MaxLength - 12) stem = stem[..(PathSegment.MaxLength - 12)];
        return PathSegment.Check(stem + extension, "photo file name");
    }

    /// <summary>The normalised path of a category and its folder, proven to stay inside the root.</summary>
    private (string Path, string Folder) Resolve(string category)
    {
        var segments = (category ?? "").Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (segments.Length == 0) throw new DatasetEditException("A category needs a name.");
        var folder = Root;
        foreach (var segment in segments)
        {
            folder = PathSegment.Join(folder, segment, "category name");
            // A link inside the tree could lead anywhere: no edit passes through one.
            if (Directory.Exists(folder) && new DirectoryInfo(folder).LinkTarget is not null)
                throw new DatasetEditException($"'{segment}' is a link, not a category folder.");
        }
        return (string.Join('/', segments), folder);
    }

    private (string Path, string Folder) ResolveExisting(string category)
    {
        var resolved = Resolve(category);
        if (!Directory.Exists(resolved.Folder)) throw new DatasetItemNotFoundException($"There is no category '{resolved.Path}'.");
        return resolved;
    }

    private static IEnumerable<string> PhotoFiles(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles()
            .Where(f => !f.Name.StartsWith('.') && f.LinkTarget is null && ImageFileDecoder.ImageExtensions.Contains(f.Extension))
            .Select(f => f.FullName);

    private static string FreeName(string folder, string fileName)
    {
        var stem = Path.GetFileNameWithoutExtension(fileName);
        var extension = Path.GetExtension(fileName);
        var candidate = Path.Combine(folder, fileName);
        for (var n = 2; File.Exists(candidate) || Directory.Exists(candidate); n++)
            candidate = Path.Combine(folder, $"{stem}-{n}{extension}");
        return candidate;
    }

    private async Task<byte[]> ReadBoundedAsync(Stream content, string fileName, CancellationToken cancellationToken)
    {
        var limit = decoder.Options.MaxBytes;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await content.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
                throw new DatasetEditException($"'{fileName}' is larger than {limit} bytes, the most a photo may have.");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static string ReasonOf(Exception ex) => ex is ImageDecodeException decode ? decode.Reason : ex.Message;

    private static string Sha256Of(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
