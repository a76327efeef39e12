using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetailCam.Engine.Inference;

namespace RetailCam.Storage;

/// <summary>One of the top categories of a review item.</summary>
public sealed record ReviewChoice(string Category, double Probability);

/// <summary>A prediction waiting for (or answered by) a reviewer.</summary>
public sealed record ReviewItem(Guid Id, string ContentHash, string FileName, string ModelId, string? FiledUnder, IReadOnlyList<ReviewChoice> Top,
    bool NotInCatalogue, string Source, DateTime CreatedUtc, string? Resolution);

/// <summary>
/// Predictions not sure enough to file by themselves: no level of the path cleared the confidence
/// threshold down to the leaf, or the photo looked like none of the categories. A reviewer answers
/// each by filing it (<see cref="PhotoFiling"/>) or dismissing it. Thread-safe.
/// </summary>
public sealed class ReviewQueue(IDbContextFactory<RetailCamDbContext> contexts, PhotoFiling filing)
{
    public const string Dismissed = "dismissed";

    /// <summary>True when the prediction stops short of its top leaf, or is not one of the categories.</summary>
    public static bool NeedsReview(Prediction prediction) =>
        prediction.NotInCatalogue || prediction.Top.Count == 0 || prediction.FiledUnder != prediction.Top[0].Category;

    /// <summary>Queues the prediction when it needs review; returns the item, or null when it was sure enough. A photo already open in the queue is not queued twice.</summary>
    public async Task<ReviewItem?> OfferAsync(Prediction prediction, string contentHash, string source, CancellationToken cancellationToken = default)
    {
        if (!NeedsReview(prediction)) return null;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var open = await db.ReviewItems.AsNoTracking().FirstOrDefaultAsync(r => r.ContentHash == contentHash && r.Resolution == null, cancellationToken);
        if (open is not null) return Item(open);
        var row = new ReviewItemEntity
        {
            Id = Guid.NewGuid(),
            ContentHash = contentHash,
            FileName = prediction.Source,
            ModelId = prediction.ModelId,
            FiledUnder = prediction.FiledUnder,
            TopCategory = prediction.Top.Count > 0 ? prediction.Top[0].Category : "",
            TopProbability = prediction.Top.Count > 0 ? prediction.Top[0].Probability : 0,
            TopJson = JsonSerializer.Serialize(prediction.Top.Select(t => new ReviewChoice(t.Category, Math.Round(t.Probability, 6)))),
            NotInCatalogue = prediction.NotInCatalogue,
            Source = source,
            CreatedUtc = DateTime.UtcNow,
        };
        db.ReviewItems.Add(row);
        await db.SaveChangesAsync(cancellationToken);
        return Item(row);
    }

    /// <summary>Open items, oldest first (the order a reviewer works through them).</summary>
    public async Task<IReadOnlyList<ReviewItem>> OpenAsync(int take = 200, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await db.ReviewItems.AsNoTracking().Where(r => r.Resolution == null).ToListAsync(cancellationToken);
        return rows.OrderBy(r => r.CreatedUtc).Take(take).Select(Item).ToList();
    }

    /// <summary>Answers an item by filing its photo into <paramref name="category"/> of <paramref name="datasetId"/>.</summary>
    public async Task<FiledPhoto> FileAsync(Guid id, string datasetId, string category, string? by = null, CancellationToken cancellationToken = default)
    {
        var row = await OpenRowAsync(id, cancellationToken);
        // Filing resolves every open item of the photo, this one included.
        return await filing.FileAsync(row.ContentHash, datasetId, category, "review", by, createCategory: true, cancellationToken);
    }

    public Task DismissAsync(Guid id, string? by = null, CancellationToken cancellationToken = default) => ResolveAsync(id, Dismissed, by, cancellationToken);

    private async Task<ReviewItemEntity> OpenRowAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await OpenRowAsync(db, id, cancellationToken);
    }

    /// <summary>The item, tracked by <paramref name="db"/>; unknown or already answered items throw.</summary>
    private static async Task<ReviewItemEntity> OpenRowAsync(RetailCamDbContext db, Guid id, CancellationToken cancellationToken)
    {
        var row = await db.ReviewItems.SingleOrDefaultAsync(r => r.Id == id, cancellationToken)
            ?? throw new Engine.Data.DatasetItemNotFoundException($"There is no review item {id}.");
        return row.Resolution is null ? row : throw new Engine.Data.DatasetEditException($"Review item {id} was already answered ({row.Resolution}).");
    }

    private async Task ResolveAsync(Guid id, string resolution, string? by, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await OpenRowAsync(db, id, cancellationToken);
        row.Resolution = resolution;
        row.ResolvedUtc = DateTime.UtcNow;
        row.ResolvedBy = by;
        await db.SaveChangesAsync(cancellationToken);
    }

    private static ReviewItem Item(ReviewItemEntity r) => new(r.Id, r.ContentHash, r.FileName, r.ModelId, r.FiledUnder,
        JsonSerializer.Deserialize<List<ReviewChoice>>(r.TopJson) ?? [], r.NotInCatalogue, r.Source, r.CreatedUtc, r.Resolution);
}
