using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Layout;

namespace RetailCam.Storage;

/// <summary>
/// Keeps every distinct uploaded photo once, named by the SHA-256 of its bytes
/// (<c>uploads/ab/abcdef….jpg</c> under the data root), with one <see cref="UploadEntity"/> row.
/// Only images the decoder accepts are stored, so the folder never holds arbitrary files.
/// Thread-safe.
/// </summary>
public sealed class UploadStore
{
    public const string FolderName = DataRootLayout.UploadsFolderName;

    private static readonly Dictionary<string, string> ExtensionByFormat = new(StringComparer.OrdinalIgnoreCase)
    {
        ["JPEG"] = ".jpg", ["PNG"] = ".png", ["Webp"] = ".webp", ["GIF"] = ".gif", ["BMP"] = ".bmp", ["TIFF"] = ".tif",
    };

    private readonly string dataRoot;
    private readonly string uploadsRoot;
    private readonly IDbContextFactory<RetailCamDbContext> contexts;
    private readonly ImageFileDecoder decoder;

    public UploadStore(string dataRoot, IDbContextFactory<RetailCamDbContext> contexts, ImageFileDecoder decoder)
    {
        this.dataRoot = Path.GetFullPath(dataRoot);
        uploadsRoot = Path.Combine(this.dataRoot, FolderName);
        this.contexts = contexts;
        this.decoder = decoder;
    }

    /// <summary>Lower-case hex SHA-256 of <paramref name="bytes"/>, the key of an upload.</summary>
    public static string ComputeHash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>True for exactly 64 hex digits: nothing else can become part of a path.</summary>
    public static bool IsValidHash(string? contentHash) =>
        contentHash is { Length: 64 } && contentHash.All(char.IsAsciiHexDigit);

    /// <summary>
    /// Stores the photo unless the same bytes are already stored, and returns its row (the first
    /// upload's row when it was a duplicate).
    /// </summary>
    /// <exception cref="ImageDecodeException">The bytes are not an image within the decoder's limits.</exception>
    /// <param name="owner">Who uploaded it (a user name), kept with the first upload of these bytes.</param>
    public async Task<UploadEntity> SaveAsync(ReadOnlyMemory<byte> bytes, string fileName, string? owner = null, CancellationToken cancellationToken = default)
    {
        var header = decoder.Identify(bytes.Span, fileName);
        var hash = ComputeHash(bytes.Span);

        var existing = await FindAsync(hash, cancellationToken);
        if (existing is not null && File.Exists(FullPath(existing.StoredPath)))
            return existing;

        var extension = ExtensionByFormat.GetValueOrDefault(header.Format, ".img");
        var relative = $"{FolderName}/{hash[..2]}/{hash}{extension}";
        await WriteAtomicallyAsync(FullPath(relative), bytes, cancellationToken);
        if (existing is not null)
            return existing; // the row outlived its file (deleted by hand): the file is back now

        var upload = new UploadEntity
        {
            ContentHash = hash,
            FileName = Path.GetFileName(fileName),
            Format = header.Format,
            Length = bytes.Length,
            Width = header.Width,
            Height = header.Height,
            StoredPath = relative,
            FirstSeenUtc = DateTime.UtcNow,
            Owner = owner,
        };
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        context.Uploads.Add(upload);
        try
        {
            await context.SaveChangesAsync(cancellationToken);
            return upload;
        }
        catch (DbUpdateException ex) when (DbConstraint.IsDuplicateKey(ex))
        {
            // Another request stored the same bytes between our look-up and our insert.
            return await FindAsync(hash, cancellationToken)
                ?? throw new InvalidOperationException($"Upload {hash} was reported as duplicate but is not stored.", ex);
        }
    }

    /// <summary>Reads an upload stream up to the decoder's byte limit, then stores it as <see cref="SaveAsync(ReadOnlyMemory{byte}, string, string?, CancellationToken)"/>.</summary>
    public async Task<UploadEntity> SaveAsync(Stream content, string fileName, string? owner = null, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await content.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > decoder.Options.MaxBytes)
                throw new ImageDecodeException(ImageDecodeErrorKind.TooLarge, fileName,
                    $"the file is over {decoder.Options.MaxBytes / 1048576.0:0.#} MB, the limit.");
        }
        return await SaveAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), fileName, owner, cancellationToken);
    }

    /// <exception cref="ArgumentException"><paramref name="contentHash"/> is not 64 hex digits.</exception>
    public async Task<UploadEntity?> FindAsync(string contentHash, CancellationToken cancellationToken = default)
    {
        var hash = Normalise(contentHash);
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.Uploads.AsNoTracking().SingleOrDefaultAsync(u => u.ContentHash == hash, cancellationToken);
    }

    /// <summary>The stored bytes, or null when no upload has this hash.</summary>
    /// <exception cref="ArgumentException"><paramref name="contentHash"/> is not 64 hex digits.</exception>
    public async Task<byte[]?> ReadBytesAsync(string contentHash, CancellationToken cancellationToken = default)
    {
        var upload = await FindAsync(contentHash, cancellationToken);
        if (upload is null) return null;
        var path = FullPath(upload.StoredPath);
        return File.Exists(path) ? await File.ReadAllBytesAsync(path, cancellationToken) : null;
    }

    /// <summary>Absolute path of a stored upload's file.</summary>
    public string FullPath(UploadEntity upload) => FullPath(upload.StoredPath);

    private static string Normalise(string contentHash) =>
        IsValidHash(contentHash)
            ? contentHash.ToLowerInvariant()
            : throw new ArgumentException("A content hash is 64 hexadecimal digits (SHA-256).", nameof(contentHash));

    private string FullPath(string relative)
    {
        // Rows are written only by this class, but the database file is not a trust boundary we
        // control: refuse any stored path that leads outside the uploads folder.
        var full = Path.GetFullPath(Path.Combine(dataRoot, relative));
        if (!full.StartsWith(uploadsRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidOperationException($"Stored upload path '{relative}' leads outside {uploadsRoot}.");
        return full;
    }

    private static async Task WriteAtomicallyAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        // Same folder, so the rename cannot cross file systems and readers see the whole file or none.
        var temp = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await stream.WriteAsync(bytes, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            // Identical content under the same name: whichever concurrent writer renames last wins harmlessly.
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
