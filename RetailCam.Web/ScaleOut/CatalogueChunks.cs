using System.Globalization;
using CsvHelper;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Inference;
using RetailCam.Web.Services;
using StackExchange.Redis;

namespace RetailCam.Web.ScaleOut;

/// <summary>
/// A web node's way to bulk categorisation in a cluster: the folder's photos are planned into chunks in the
/// shared data root, each chunk becomes a job on the bulk queue, and the job's progress is summed from
/// the chunks done (their files) and those under way (their workers' counts in Redis).
/// </summary>
public sealed class HangfireCatalogueDispatcher(IBackgroundJobClient jobs, CatalogueChunkStore store, IConnectionMultiplexer redis, IOptions<JobsOptions> options,
    ILogger<HangfireCatalogueDispatcher> logger) : ICatalogueDispatcher
{
    internal static RedisKey ProgressKey(Guid id) => $"retailcam:catalogue:{id:N}";

    public Task<CatalogueJob> StartAsync(string folder, string displayFolder, string modelId, IReadOnlyList<string> files, Action<CatalogueJob> progressed)
    {
        var plan = new CataloguePlan(Guid.NewGuid(), folder, displayFolder, modelId,
            files.Select(f => CatalogueJobs.RelativeName(folder, f)).ToList(), options.Value.BulkChunkSize, DateTimeOffset.UtcNow);
        store.WritePlan(plan);
        for (var chunk = 0; chunk < plan.Chunks; chunk++)
        {
            var index = chunk;
            jobs.Create<CatalogueChunkJob>(job => job.ExecuteAsync(plan.Id, index, CancellationToken.None), new EnqueuedState(JobsOptions.BulkQueue));
        }
        logger.LogInformation("Categorising {Folder}: {Photos} photos in {Chunks} chunks of {Size} for the workers", displayFolder, files.Count, plan.Chunks, plan.ChunkSize);
        return Task.FromResult(Follow(plan, progressed));
    }

    public CatalogueJob? Find(Guid id, Action<CatalogueJob> progressed) =>
        store.ReadPlan(id) is { } plan ? Follow(plan, progressed) : null;

    /// <summary>A job view kept up to date every second until every chunk is done (or the job is stopped).</summary>
    private CatalogueJob Follow(CataloguePlan plan, Action<CatalogueJob> progressed)
    {
        var job = new CatalogueJob
        {
            Id = plan.Id,
            Folder = plan.Folder,
            DisplayFolder = plan.DisplayFolder,
            Total = plan.Files.Count,
            Started = plan.Started,
            Chunks = plan.Chunks,
            SharedCsv = () => store.ReadCsv(plan, Header()),
        };
        job.Cancellation.Token.Register(() => store.RequestStop(plan.Id));
        Refresh(job, plan, new ChunkCounts?[plan.Chunks]);
        if (!job.Finished) _ = Task.Run(() => FollowAsync(job, plan, progressed));
        return job;
    }

    private async Task FollowAsync(CatalogueJob job, CataloguePlan plan, Action<CatalogueJob> progressed)
    {
        var finished = new ChunkCounts?[plan.Chunks];
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (!job.Finished && await timer.WaitForNextTickAsync())
        {
            try
            {
                await RefreshAsync(job, plan, finished);
            }
            catch (Exception ex) when (ex is RedisException or IOException or System.Text.Json.JsonException)
            {
                logger.LogWarning(ex, "Could not read the progress of categorisation {Job}", plan.Id);
            }
            progressed(job);
        }
    }

    /// <remarks>
    /// Waited for on the thread pool: a Blazor circuit's synchronization context would otherwise wait
    /// for a continuation it is itself blocking.
    /// </remarks>
    private void Refresh(CatalogueJob job, CataloguePlan plan, ChunkCounts?[] finished) => Task.Run(() => RefreshAsync(job, plan, finished)).GetAwaiter().GetResult();

    private async Task RefreshAsync(CatalogueJob job, CataloguePlan plan, ChunkCounts?[] finished)
    {
        var underWay = (await redis.GetDatabase().HashGetAllAsync(ProgressKey(plan.Id))).ToDictionary(e => (int)e.Name, e => ParseCounts(e.Value!));
        int done = 0, failed = 0, queued = 0, chunksDone = 0;
        for (var chunk = 0; chunk < plan.Chunks; chunk++)
        {
            finished[chunk] ??= store.ReadCounts(plan.Id, chunk);
            var counts = finished[chunk] ?? underWay.GetValueOrDefault(chunk);
            if (finished[chunk] is not null) chunksDone++;
            if (counts is null) continue;
            done += counts.Done;
            failed += counts.Failed;
            queued += counts.QueuedForReview;
        }
        job.SetProgress(done, failed, queued);
        job.ChunksDone = chunksDone;
        if (chunksDone == plan.Chunks) job.Finished = true;
        else if (store.StopRequested(plan.Id))
        {
            job.Error = "Stopped.";
            job.Finished = true;
        }
    }

    internal static string FormatCounts(ChunkCounts counts) => FormattableString.Invariant($"{counts.Done},{counts.Failed},{counts.QueuedForReview}");

    private static ChunkCounts? ParseCounts(string text) =>
        text.Split(',') is [var d, var f, var q] && int.TryParse(d, CultureInfo.InvariantCulture, out var done)
            && int.TryParse(f, CultureInfo.InvariantCulture, out var failed) && int.TryParse(q, CultureInfo.InvariantCulture, out var queued)
            ? new ChunkCounts(done, failed, queued) : null;

    private static string Header()
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = new CsvWriter(writer, CatalogueCsv.Configuration)) CatalogueCsv.WriteHeader(csv);
        return writer.ToString();
    }
}

/// <summary>One chunk of a categorisation on a worker: its photos through this worker's predictor, rows and counts into the shared store.</summary>
public sealed class CatalogueChunkJob(CatalogueChunkStore store, PredictionService predictions, CatalogueJobs catalogue, IConnectionMultiplexer redis,
    ILogger<CatalogueChunkJob> logger)
{
    private const int ProgressEvery = 8;

    [AutomaticRetry(Attempts = 5)]
    public async Task ExecuteAsync(Guid jobId, int chunk, CancellationToken cancellationToken)
    {
        if (store.ReadPlan(jobId) is not { } plan)
        {
            logger.LogWarning("Categorisation {Job} has no plan (deleted?): chunk {Chunk} ends", jobId, chunk);
            return;
        }
        if (store.IsDone(jobId, chunk) || store.StopRequested(jobId)) return;
        var files = plan.ChunkFiles(chunk).Select(f => Path.Combine(plan.Folder, f)).ToList();
        logger.LogInformation("Categorisation {Job}: chunk {Chunk} of {Chunks} started ({Photos} photos)", jobId, chunk + 1, plan.Chunks, files.Count);
        var rows = new List<(string Name, FileOutcome Outcome)>(files.Count);
        int failed = 0, queued = 0;
        var progress = redis.GetDatabase();
        var categoriser = new FileCategoriser(predictions.Predictor, predictions.Decoder);
        // The chunk is answered by the model the job started with, whatever is served meanwhile.
        await foreach (var outcome in categoriser.CategoriseAsync(files, new PredictRequestOptions { ModelId = plan.ModelId }, cancellationToken))
        {
            var name = CatalogueJobs.RelativeName(plan.Folder, outcome.Path);
            rows.Add((name, outcome));
            if (outcome.Prediction is null) failed++;
            else if (await catalogue.OfferForReviewAsync(outcome.Path, outcome.Prediction with { Source = name }, cancellationToken)) queued++;
            if (rows.Count % ProgressEvery != 0) continue;
            await progress.HashSetAsync(HangfireCatalogueDispatcher.ProgressKey(jobId), chunk, HangfireCatalogueDispatcher.FormatCounts(new(rows.Count, failed, queued)));
            if (store.StopRequested(jobId)) return;
        }
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = new CsvWriter(writer, CatalogueCsv.Configuration))
            foreach (var (name, outcome) in rows.OrderBy(r => r.Name, StringComparer.Ordinal)) CatalogueCsv.WriteRow(csv, name, outcome);
        var counts = new ChunkCounts(rows.Count, failed, queued);
        store.WriteChunk(jobId, chunk, writer.ToString(), counts);
        await progress.HashSetAsync(HangfireCatalogueDispatcher.ProgressKey(jobId), chunk, HangfireCatalogueDispatcher.FormatCounts(counts));
        await progress.KeyExpireAsync(HangfireCatalogueDispatcher.ProgressKey(jobId), TimeSpan.FromDays(7));
        logger.LogInformation("Categorisation {Job}: chunk {Chunk} of {Chunks} done ({Photos} photos)", jobId, chunk + 1, plan.Chunks, rows.Count);
    }
}
