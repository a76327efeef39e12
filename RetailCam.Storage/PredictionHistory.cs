using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Inference;

namespace RetailCam.Storage;

/// <summary>Every prediction made for an uploaded photo, newest first. Thread-safe.</summary>
public sealed class PredictionHistory(IDbContextFactory<RetailCamDbContext> contexts)
{
    public const int MaxPageSize = 500;

    /// <summary>
    /// Records a prediction of a stored upload, keeping the same JSON the API answered
    /// (<see cref="PredictionJson.Describe"/>) so history shows exactly what the user saw.
    /// </summary>
    public Task<PredictionRecordEntity> AddAsync(
        Prediction prediction, string contentHash, ClassMapMethod method,
        string? heatmap = null, string? overlay = null, string? owner = null, CancellationToken cancellationToken = default)
    {
        var top = prediction.Top.Count > 0
            ? prediction.Top[0]
            : throw new ArgumentException("A prediction without any category cannot be recorded.", nameof(prediction));
        return AddAsync(new PredictionRecordEntity
        {
            Id = Guid.NewGuid(),
            AtUtc = DateTime.UtcNow,
            ModelId = prediction.ModelId,
            ContentHash = contentHash,
            FileName = prediction.Source,
            TopCategory = top.Category,
            TopProbability = top.Probability,
            ResultJson = JsonSerializer.Serialize(PredictionJson.Describe(prediction, heatmap, overlay)),
            Method = method.Name,
            Owner = owner,
        }, cancellationToken);
    }

    /// <exception cref="ArgumentException">The content hash is malformed.</exception>
    /// <exception cref="KeyNotFoundException">No upload has the record's content hash.</exception>
    public async Task<PredictionRecordEntity> AddAsync(PredictionRecordEntity record, CancellationToken cancellationToken = default)
    {
        if (!UploadStore.IsValidHash(record.ContentHash))
            throw new ArgumentException("A content hash is 64 hexadecimal digits (SHA-256).", nameof(record));
        record.ContentHash = record.ContentHash.ToLowerInvariant();
        if (record.Id == Guid.Empty) record.Id = Guid.NewGuid();

        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        context.Predictions.Add(record);
        try
        {
            await context.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (DbConstraint.IsMissingParent(ex))
        {
            throw new KeyNotFoundException($"No upload {record.ContentHash} is stored; store the photo before its prediction.", ex);
        }
        record.Upload = null;
        return record;
    }

    /// <summary>One page of predictions, newest first.</summary>
    public async Task<IReadOnlyList<PredictionRecordEntity>> ListRecentAsync(int skip = 0, int take = 50, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfLessThan(take, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(take, MaxPageSize);
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.Predictions.AsNoTracking()
            .OrderByDescending(p => p.AtUtc).ThenByDescending(p => p.Id) // ties in time still page stably
            .Skip(skip).Take(take)
            .ToListAsync(cancellationToken);
    }

    public async Task<int> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.Predictions.CountAsync(cancellationToken);
    }

    public async Task<PredictionRecordEntity?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var context = await contexts.CreateDbContextAsync(cancellationToken);
        return await context.Predictions.AsNoTracking().SingleOrDefaultAsync(p => p.Id == id, cancellationToken);
    }
}
