using RetailCam.Storage.Accounts;
using RetailCam.Web.Services;

namespace RetailCam.Web.Api;

/// <summary>The body of <c>POST /api/catalogue</c>: a folder under one of the configured folder roots (RetailCam:FolderRoots).</summary>
public sealed record StartCatalogueRequest(string? Folder, int Root = 0);

/// <summary>Bulk categorisation of a folder over REST: start, follow, stop, and its CSV (what the Catalogue page does).</summary>
public static class CatalogueApi
{
    public static IEndpointRouteBuilder MapCatalogueApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/catalogue").WithTags("Bulk categorisation").RequireAuthorization(TeamRoles.Trainer);

        api.MapPost("/", async (StartCatalogueRequest body, CatalogueJobs jobs) =>
        {
            try
            {
                var job = await jobs.StartAsync(body.Root, body.Folder ?? "");
                return Results.Accepted($"/api/catalogue/{job.Id}", Describe(job));
            }
            catch (UnauthorizedAccessException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "Folder not allowed");
            }
            catch (DirectoryNotFoundException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such folder");
            }
            catch (NoModelException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "No model to serve");
            }
        })
            .WithName("StartCatalogue")
            .WithSummary("Categorise every photo of a folder in the background (in a cluster: in chunks on the workers).")
            .DisableAntiforgery()
            .Produces(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/{id:guid}", (Guid id, CatalogueJobs jobs) =>
            jobs.Find(id) is { } job ? Results.Ok(Describe(job)) : NoSuchJob(id))
            .WithName("GetCatalogue")
            .WithSummary("A categorisation's progress: photos done, unreadable and queued for review, chunks done, finished.");

        api.MapPost("/{id:guid}/stop", (Guid id, CatalogueJobs jobs) =>
        {
            if (jobs.Find(id) is not { } job) return NoSuchJob(id);
            job.Cancellation.Cancel();
            return Results.Accepted($"/api/catalogue/{id}", Describe(job));
        })
            .WithName("StopCatalogue")
            .DisableAntiforgery()
            .WithSummary("Stop a categorisation; the photos done so far stay in its CSV.");

        api.MapGet("/{id:guid}.csv", (Guid id, CatalogueJobs jobs) =>
            jobs.Find(id) is { } job
                ? Results.File(job.ToCsv(), "text/csv", $"catalogue-{job.Started:yyyyMMdd-HHmmss}.csv")
                : NoSuchJob(id))
            .WithName("GetCatalogueCsv")
            .WithSummary("The results of a bulk categorisation as CSV (the columns of `retailcam catalogue`).");

        return endpoints;
    }

    private static object Describe(CatalogueJob job) => new
    {
        id = job.Id,
        folder = job.DisplayFolder,
        total = job.Total,
        done = job.Done,
        failed = job.Failed,
        queuedForReview = job.QueuedForReview,
        chunks = job.Chunks,
        chunksDone = job.Finished && job.Error is null ? job.Chunks : job.ChunksDone,
        finished = job.Finished,
        error = job.Error,
        started = job.Started,
    };

    private static IResult NoSuchJob(Guid id) =>
        Results.Problem($"No categorisation job {id}.", statusCode: StatusCodes.Status404NotFound, title: "Unknown job");
}
