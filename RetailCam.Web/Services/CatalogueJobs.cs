using System.Collections.Concurrent;
using System.Globalization;
using CsvHelper;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Data;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Inference;

namespace RetailCam.Web.Services;

/// <summary>One bulk categorisation of a folder: its progress, results so far, and the CSV of them.</summary>
/// <remarks>
/// In one process the job holds its results; in a cluster they are in the shared data root, written by
/// the workers that process its chunks, and the job here follows their progress.
/// </remarks>
public sealed class CatalogueJob
{
    private readonly ConcurrentQueue<(string File, FileOutcome Outcome)> results = new();

    public Guid Id { get; init; } = Guid.NewGuid();
    public required string Folder { get; init; }
    public required string DisplayFolder { get; init; }
    public required int Total { get; init; }
    public int Done => done;
    public int Failed => failed;
    /// <summary>Photos whose prediction was unsure and now wait in the review queue.</summary>
    public int QueuedForReview => queuedForReview;
    private int done, failed, queuedForReview;
    internal void CountQueued() => Interlocked.Increment(ref queuedForReview);
    public bool Finished { get; internal set; }
    public string? Error { get; internal set; }
    public DateTimeOffset Started { get; init; } = DateTimeOffset.UtcNow;
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Chunks of a job that workers process (1 in one process), and how many of them are done.</summary>
    public int Chunks { get; init; } = 1;
    public int ChunksDone { get; internal set; }

    /// <summary>The CSV written from the workers' results, for a job processed by them.</summary>
    internal Func<byte[]>? SharedCsv { get; init; }

    public IReadOnlyList<(string File, FileOutcome Outcome)> Results => results.ToArray();

    internal void Add(string file, FileOutcome outcome)
    {
        results.Enqueue((file, outcome));
        if (outcome.Prediction is null) Interlocked.Increment(ref failed);
        Interlocked.Increment(ref done);
    }

    /// <summary>Progress summed over the workers' chunks.</summary>
    internal void SetProgress(int doneSoFar, int failedSoFar, int queuedSoFar)
    {
        done = doneSoFar;
        failed = failedSoFar;
        queuedForReview = queuedSoFar;
    }

    /// <summary>The same columns as `retailcam catalogue`.</summary>
    public byte[] ToCsv()
    {
        if (SharedCsv is not null) return SharedCsv();
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = new CsvWriter(writer, CatalogueCsv.Configuration))
        {
            CatalogueCsv.WriteHeader(csv);
            foreach (var (file, outcome) in Results.OrderBy(r => r.File, StringComparer.Ordinal)) CatalogueCsv.WriteRow(csv, file, outcome);
        }
        return System.Text.Encoding.UTF8.GetBytes(writer.ToString());
    }
}

/// <summary>Where a web node of a cluster sends bulk categorisations: chunks for the workers.</summary>
public interface ICatalogueDispatcher
{
    /// <param name="files">The photos, in the order of the job's CSV.</param>
    /// <param name="progressed">Called as the workers' chunks progress, and once when the job is finished.</param>
    Task<CatalogueJob> StartAsync(string folder, string displayFolder, string modelId, IReadOnlyList<string> files, Action<CatalogueJob> progressed);

    /// <summary>A job any node started, from the shared data root; null when there is none.</summary>
    CatalogueJob? Find(Guid id, Action<CatalogueJob> progressed);
}

/// <summary>Runs bulk categorisations in the background, so a page can leave and come back to its progress.</summary>
public sealed class CatalogueJobs(PredictionService predictions, IOptions<EngineOptions> options, ILogger<CatalogueJobs> logger, ICatalogueDispatcher? dispatcher = null)
{
    private readonly ConcurrentDictionary<Guid, CatalogueJob> jobs = new();

    public FolderRoots Roots { get; } = new(options.Value.ResolvedFolderRoots);

    public event Action<CatalogueJob>? Progressed;

    public CatalogueJob? Find(Guid id) =>
        jobs.GetValueOrDefault(id) ?? (dispatcher?.Find(id, Notify) is { } shared ? jobs.GetOrAdd(id, shared) : null);

    private void Notify(CatalogueJob job) => Progressed?.Invoke(job);

    public async Task<CatalogueJob> StartAsync(int rootIndex, string relative)
    {
        var folder = Roots.Resolve(rootIndex, relative);
        var model = await predictions.EnsureModelAsync() ?? throw new NoModelException();
        // Ordinal order of the names within the folder: the CSV's order, and the chunks' in a cluster.
        var files = FileCategoriser.FindImages(folder).OrderBy(f => RelativeName(folder, f), StringComparer.Ordinal).ToList();
        var displayFolder = string.IsNullOrEmpty(relative) ? "/" : relative;
        if (dispatcher is not null)
        {
            var shared = await dispatcher.StartAsync(folder, displayFolder, model.Id, files, Notify);
            jobs[shared.Id] = shared;
            return shared;
        }
        var job = new CatalogueJob { Folder = folder, DisplayFolder = displayFolder, Total = files.Count };
        jobs[job.Id] = job;
        _ = Task.Run(async () =>
        {
            try
            {
                var categoriser = new FileCategoriser(predictions.Predictor, predictions.Decoder);
                // The whole job is answered by the model it started with, whatever is chosen meanwhile.
                await foreach (var outcome in categoriser.CategoriseAsync(files, new PredictRequestOptions { ModelId = model.Id }, job.Cancellation.Token))
                {
                    var name = RelativeName(folder, outcome.Path);
                    job.Add(name, outcome);
                    // The reviewer sees the name within the job's folder, not the server's path.
                    if (outcome.Prediction is { } prediction && await OfferForReviewAsync(outcome.Path, prediction with { Source = name }, job.Cancellation.Token))
                        job.CountQueued();
                    Progressed?.Invoke(job);
                }
            }
            catch (OperationCanceledException)
            {
                job.Error = "Stopped.";
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Categorising {Folder} failed", folder);
                job.Error = ex.Message;
            }
            finally
            {
                job.Finished = true;
                Progressed?.Invoke(job);
            }
        });
        return job;
    }

    /// <summary>A photo's name as the CSV and the reviewer see it: within the job's folder, not the server's path.</summary>
    public static string RelativeName(string folder, string path) => Path.GetRelativePath(folder, path).Replace('\\', '/');

    /// <summary>An unsure answer goes to the review queue; a photo that cannot be kept is logged and the job goes on.</summary>
    public async Task<bool> OfferForReviewAsync(string path, Prediction prediction, CancellationToken cancellationToken)
    {
        try
        {
            return await predictions.OfferForReviewAsync(path, prediction, "catalogue", cancellationToken) is not null;
        }
        catch (IOException ex)
        {
            logger.LogWarning(ex, "Could not queue {Path} for review", path);
            return false;
        }
    }
}
