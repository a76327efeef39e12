using System.Collections.Concurrent;
using System.Globalization;
using CsvHelper;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Data;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Inference;

namespace RetailCam.Web.Services;

/// <summary>One bulk categorisation of a folder: its progress, results so far, and the CSV of them.</summary>
public sealed class CatalogueJob
{
    private readonly ConcurrentQueue<(string File, FileOutcome Outcome)> results = new();

    public Guid Id { get; } = Guid.NewGuid();
    public required string Folder { get; init; }
    public required string DisplayFolder { get; init; }
    public required int Total { get; init; }
    public int Done => results.Count;
    public int Failed => results.Count(r => r.Outcome.Prediction is null);
    /// <summary>Photos whose prediction was unsure and now wait in the review queue.</summary>
    public int QueuedForReview => queuedForReview;
    private int queuedForReview;
    internal void CountQueued() => Interlocked.Increment(ref queuedForReview);
    public bool Finished { get; internal set; }
    public string? Error { get; internal set; }
    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;
    public CancellationTokenSource Cancellation { get; } = new();

    public IReadOnlyList<(string File, FileOutcome Outcome)> Results => results.ToArray();

    internal void Add(string file, FileOutcome outcome) => results.Enqueue((file, outcome));

    /// <summary>The same columns as `retailcam catalogue`.</summary>
    public byte[] ToCsv()
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = new CsvWriter(writer, CatalogueCsv.Configuration))
        {
            CatalogueCsv.WriteHeader(csv);
            foreach (var (file, outcome) in Results.OrderBy(r => r.File, StringComparer.Ordinal)) CatalogueCsv.WriteRow(csv, file, outcome);
        }
        return System.Text.Encoding.UTF8.GetBytes(writer.ToString());
    }
}

/// <summary>Runs bulk categorisations in the background, so a page can leave and come back to its progress.</summary>
public sealed class CatalogueJobs(PredictionService predictions, IOptions<EngineOptions> options, ILogger<CatalogueJobs> logger)
{
    private readonly ConcurrentDictionary<Guid, CatalogueJob> jobs = new();

    public FolderRoots Roots { get; } = new(options.Value.ResolvedFolderRoots);

    public event Action<CatalogueJob>? Progressed;

    public CatalogueJob? Find(Guid id) => jobs.GetValueOrDefault(id);

    public async Task<CatalogueJob> StartAsync(int rootIndex, string relative)
    {
        var folder = Roots.Resolve(rootIndex, relative);
        var model = await predictions.EnsureModelAsync() ?? throw new NoModelException();
        var files = FileCategoriser.FindImages(folder);
        var job = new CatalogueJob { Folder = folder, DisplayFolder = string.IsNullOrEmpty(relative) ? "/" : relative, Total = files.Count };
        jobs[job.Id] = job;
        _ = Task.Run(async () =>
        {
            try
            {
                var categoriser = new FileCategoriser(predictions.Predictor, predictions.Decoder);
                // The whole job is answered by the model it started with, whatever is chosen meanwhile.
                await foreach (var outcome in categoriser.CategoriseAsync(files, new PredictRequestOptions { ModelId = model.Id }, job.Cancellation.Token))
                {
                    var name = Path.GetRelativePath(folder, outcome.Path).Replace('\\', '/');
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

    /// <summary>An unsure answer goes to the review queue; a photo that cannot be kept is logged and the job goes on.</summary>
    private async Task<bool> OfferForReviewAsync(string path, Prediction prediction, CancellationToken cancellationToken)
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
