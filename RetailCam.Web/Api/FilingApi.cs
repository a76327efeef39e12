using RetailCam.Web.Security;
using RetailCam.Storage.Accounts;
using RetailCam.Engine.Data;
using RetailCam.Engine.Layout;
using RetailCam.Storage;

namespace RetailCam.Web.Api;

/// <summary>The body of <c>POST /api/files</c>: which stored upload goes into which category of which dataset.</summary>
public sealed record FileRequest(string? Upload, string? Dataset, string? Category);

/// <summary>The body of <c>POST /api/review/{id}/file</c>.</summary>
public sealed record ReviewAnswer(string? Dataset, string? Category);

public static class FilingApi
{
    public static IEndpointRouteBuilder MapFilingApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").WithTags("Filing and review").RequireAuthorization(TeamRoles.Trainer);

        api.MapPost("/files", async (FileRequest body, PhotoFiling filing, HttpContext context, CancellationToken cancellationToken) =>
        {
            if (string.IsNullOrWhiteSpace(body.Upload) || string.IsNullOrWhiteSpace(body.Dataset) || string.IsNullOrWhiteSpace(body.Category))
                return Results.Problem("Give the upload (the id a prediction answered with), the dataset and the category.", statusCode: StatusCodes.Status400BadRequest, title: "Incomplete filing");
            return await Answer(async () =>
            {
                var filed = await filing.FileAsync(body.Upload, body.Dataset, body.Category, "predict", context.Name(), cancellationToken: cancellationToken);
                return Results.Created($"/api/datasets/{filed.DatasetId}/photo?category={Uri.EscapeDataString(filed.Category)}&file={Uri.EscapeDataString(filed.FileName)}",
                    new { dataset = filed.DatasetId, category = filed.Category, file = filed.FileName, alreadyPresent = filed.AlreadyPresent });
            });
        })
            .WithName("FilePhoto")
            .WithSummary("File a stored upload (`upload` from a prediction's answer) into a category of a dataset.")
            .DisableAntiforgery()
            .Produces(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/review", async (ReviewQueue queue, CancellationToken cancellationToken) =>
            Results.Ok((await queue.OpenAsync(cancellationToken: cancellationToken)).Select(r => new
            {
                id = r.Id,
                upload = r.ContentHash,
                file = r.FileName,
                model = r.ModelId,
                filedUnder = r.FiledUnder,
                top = r.Top.Select(t => new { category = t.Category, probability = t.Probability }),
                notInCatalogue = r.NotInCatalogue,
                source = r.Source,
                created = r.CreatedUtc,
            })))
            .WithName("ListReview")
            .WithSummary("Predictions waiting for a reviewer (oldest first): those whose path stopped short of the leaf, or that looked like none of the categories.");

        api.MapPost("/review/{id:guid}/file", async (Guid id, ReviewAnswer body, ReviewQueue queue, HttpContext context, CancellationToken cancellationToken) =>
        {
            if (string.IsNullOrWhiteSpace(body.Dataset) || string.IsNullOrWhiteSpace(body.Category))
                return Results.Problem("Give the dataset and the category to file the photo under.", statusCode: StatusCodes.Status400BadRequest, title: "Incomplete answer");
            return await Answer(async () =>
            {
                var filed = await queue.FileAsync(id, body.Dataset, body.Category, context.Name(), cancellationToken);
                return Results.Ok(new { dataset = filed.DatasetId, category = filed.Category, file = filed.FileName });
            });
        })
            .WithName("AnswerReviewByFiling")
            .WithSummary("Answer a review item by filing its photo into a category.")
            .DisableAntiforgery();

        api.MapPost("/review/{id:guid}/dismiss", async (Guid id, ReviewQueue queue, HttpContext context, CancellationToken cancellationToken) =>
            await Answer(async () =>
            {
                await queue.DismissAsync(id, context.Name(), cancellationToken);
                return Results.NoContent();
            }))
            .WithName("DismissReview")
            .WithSummary("Answer a review item without filing its photo.")
            .DisableAntiforgery();

        return endpoints;
    }

    private static async Task<IResult> Answer(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (DatasetItemNotFoundException ex)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "Not found");
        }
        catch (Exception ex) when (ex is DatasetEditException or InvalidPathSegmentException)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "Not filed");
        }
    }
}
