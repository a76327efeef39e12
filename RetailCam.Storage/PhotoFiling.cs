using Microsoft.EntityFrameworkCore;
using RetailCam.Engine.Data;

namespace RetailCam.Storage;

/// <summary>A photo filed: where it went and under which name.</summary>
public sealed record FiledPhoto(Guid Id, string ContentHash, string DatasetId, string Category, string FileName, bool AlreadyPresent, DateTime AtUtc, string? FiledBy);

/// <summary>
/// Files stored uploads into categories of datasets: the bytes are copied into the category's folder
/// (through the dataset's editor, so the same checks apply) and the filing is recorded. Thread-safe.
/// </summary>
public sealed class PhotoFiling(UploadStore uploads, DatasetRegistry datasets, IDbContextFactory<RetailCamDbContext> contexts)
{
    /// <exception cref="DatasetItemNotFoundException">Unknown upload, dataset or category.</exception>
    /// <param name="createCategory">Create the category when the dataset lacks it (a reviewer chose one of the model's categories).</param>
    public async Task<FiledPhoto> FileAsync(string contentHash, string datasetId, string category, string source, string? filedBy = null,
        bool createCategory = false, CancellationToken cancellationToken = default)
    {
        if (!UploadStore.IsValidHash(contentHash) || await uploads.FindAsync(contentHash, cancellationToken) is not { } upload)
            throw new DatasetItemNotFoundException($"No uploaded photo has the id '{Shorten(contentHash)}'.");
        if (await datasets.EditorAsync(datasetId, cancellationToken) is not { } editor)
            throw new DatasetItemNotFoundException($"There is no dataset '{Shorten(datasetId)}'.");
        var bytes = await uploads.ReadBytesAsync(upload.ContentHash, cancellationToken)
            ?? throw new DatasetItemNotFoundException($"The stored photo {upload.ContentHash[..12]}… is missing from the uploads folder.");
        if (createCategory) category = editor.AddCategory(category);
        var stored = await editor.AddPhotoAsync(category, upload.FileName, new MemoryStream(bytes), cancellationToken);
        var row = new FiledPhotoEntity
        {
            Id = Guid.NewGuid(),
            ContentHash = upload.ContentHash,
            DatasetId = datasetId,
            Category = stored.Category,
            FileName = stored.FileName,
            FiledBy = filedBy,
            Source = source,
            AtUtc = DateTime.UtcNow,
        };
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.FiledPhotos.Add(row);
        // A photo filed needs no review any more, whichever page filed it.
        foreach (var open in await db.ReviewItems.Where(r => r.ContentHash == upload.ContentHash && r.Resolution == null).ToListAsync(cancellationToken))
        {
            open.Resolution = $"{datasetId}:{stored.Category}";
            open.ResolvedUtc = row.AtUtc;
            open.ResolvedBy = filedBy;
        }
        await db.SaveChangesAsync(cancellationToken);
        return new FiledPhoto(row.Id, row.ContentHash, row.DatasetId, row.Category, row.FileName, stored.AlreadyPresent, row.AtUtc, row.FiledBy);
    }

    /// <summary>The latest filings of one dataset, newest first.</summary>
    public async Task<IReadOnlyList<FiledPhoto>> RecentAsync(string datasetId, int take = 50, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await db.FiledPhotos.AsNoTracking().Where(f => f.DatasetId == datasetId).ToListAsync(cancellationToken);
        return rows.OrderByDescending(f => f.AtUtc).Take(take)
            .Select(f => new FiledPhoto(f.Id, f.ContentHash, f.DatasetId, f.Category, f.FileName, false, f.AtUtc, f.FiledBy)).ToList();
    }

    private static string Shorten(string? text) => text is null ? "" : text.Length > 64 ? text[..64] + "…" : text;
}
