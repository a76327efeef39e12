using RetailCam.Storage.Accounts;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Data;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Layout;
using RetailCam.Storage;

namespace RetailCam.Web.Api;

/// <summary>The body of <c>POST /api/datasets</c>: a name alone creates an empty dataset; with a folder (relative to folder root <c>root</c>, default 0) it registers that tree.</summary>
public sealed record CreateDatasetRequest(string? Name, string? Folder = null, int Root = 0);

public static class DatasetsApi
{
    /// <summary>Files one request may carry: more are refused whole, with 413, before any is stored.</summary>
    public const int MaxFilesPerRequest = 200;

    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/datasets").WithTags("Datasets").RequireAuthorization(TeamRoles.Trainer);

        api.MapGet("/", async (DatasetRegistry registry, CancellationToken cancellationToken) =>
            Results.Ok((await registry.ListAsync(cancellationToken)).Select(Json)))
            .WithName("ListDatasets")
            .WithSummary("The team's datasets, by name.");

        api.MapPost("/", async (CreateDatasetRequest body, DatasetRegistry registry, IOptions<EngineOptions> engine, CancellationToken cancellationToken) =>
        {
            try
            {
                DatasetSummary created;
                if (string.IsNullOrWhiteSpace(body.Folder))
                {
                    created = await registry.CreateAsync(body.Name ?? "", cancellationToken);
                }
                else
                {
                    var folder = new FolderRoots(engine.Value.ResolvedFolderRoots).Resolve(body.Root, body.Folder);
                    created = await registry.RegisterAsync(body.Name ?? "", folder, cancellationToken);
                }
                return Results.Created($"/api/datasets/{created.Id}", new { id = created.Id, created.Name, created.Registered });
            }
            catch (Exception ex) when (ex is DatasetEditException or UnauthorizedAccessException or DirectoryNotFoundException)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "Dataset not created");
            }
        })
            .WithName("CreateDataset")
            .WithSummary("Create an empty dataset (`{\"name\"}`) or register an existing folder tree under a folder root (`{\"name\", \"folder\", \"root\"}`).")
            .DisableAntiforgery()
            .Produces(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest);

        api.MapGet("/{id}/categories", async (string id, DatasetRegistry registry, CancellationToken cancellationToken) =>
            await registry.EditorAsync(id, cancellationToken) is { } editor
                ? Results.Ok(editor.Categories().Select(c => new { path = c.Path, count = c.Count }))
                : UnknownDataset(id))
            .WithName("ListDatasetCategories")
            .WithSummary("Every category of a dataset (folders, empty ones too) with the photos each holds directly.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/{id}/categories", async (string id, string path, DatasetRegistry registry, CancellationToken cancellationToken) =>
            await registry.EditorAsync(id, cancellationToken) is not { } editor
                ? UnknownDataset(id)
                : Edit(() => Results.Created($"/api/datasets/{id}/categories", new { path = editor.AddCategory(path) })))
            .WithName("AddDatasetCategory")
            .WithSummary("Create a category (and its missing parents), e.g. `?path=Garments/Men/T-shirt`.")
            .DisableAntiforgery()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/{id}/photos", async (string id, string category, int? skip, int? take, DatasetRegistry registry, CancellationToken cancellationToken) =>
        {
            if (await registry.EditorAsync(id, cancellationToken) is not { } editor) return UnknownDataset(id);
            if (skip is < 0 || take is < 1 or > 500) return Results.Problem("skip must be ≥ 0 and take within 1–500.", statusCode: StatusCodes.Status400BadRequest);
            return Edit(() =>
            {
                var page = editor.Photos(category, skip ?? 0, take ?? 60);
                return Results.Ok(new { category, total = page.Total, files = page.FileNames });
            });
        })
            .WithName("ListDatasetPhotos")
            .WithSummary("A page of the photos of one category (file names in order).");

        api.MapGet("/{id}/photo", async (string id, string category, string file, DatasetRegistry registry, CancellationToken cancellationToken) =>
        {
            if (await registry.EditorAsync(id, cancellationToken) is not { } editor) return UnknownDataset(id);
            return Edit(() => Results.File(editor.PhotoPath(category, file), ImageContentTypes.OfExtension(Path.GetExtension(file))));
        })
            .WithName("GetDatasetPhoto")
            .WithSummary("One photo of a dataset, as stored.");

        api.MapGet("/{id}/health", async (string id, bool? labels, double? confidence, DatasetRegistry registry, ImageFileDecoder decoder, Services.PredictionService predictions,
            CancellationToken cancellationToken) =>
        {
            if (await registry.EditorAsync(id, cancellationToken) is not { } editor) return UnknownDataset(id);
            if (confidence is < 0 or > 1) return Results.Problem("confidence must lie in [0, 1].", statusCode: StatusCodes.Status400BadRequest, title: "Bad confidence");
            var report = await Task.Run(() => DatasetHealth.Check(editor.Root, decoder, cancellationToken), cancellationToken);
            IReadOnlyList<Services.SuspiciousLabel>? suspicious = null;
            if (labels == true)
            {
                try { suspicious = await predictions.FindSuspiciousLabelsAsync(editor, confidence ?? Services.PredictionService.SuspiciousConfidence, cancellationToken: cancellationToken); }
                catch (Services.NoModelException ex) { return Results.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "No model yet"); }
            }
            return Results.Ok(new
            {
                photos = report.Photos,
                healthy = report.Healthy,
                categories = report.Categories.Select(c => new { path = c.Path, count = c.Count }),
                smallCategories = report.SmallCategories,
                imbalance = Math.Round(report.Imbalance, 3),
                duplicates = report.Duplicates.Select(d => new { sha256 = d.Sha256, paths = d.Paths, acrossCategories = d.AcrossCategories }),
                unusable = report.Unusable.Select(u => new { path = u.Path, reason = u.Reason }),
                suspicious = suspicious?.Select(s => new { category = s.Category, file = s.FileName, predicted = s.Predicted, probability = Math.Round(s.Probability, 4), upload = s.ContentHash }),
            });
        })
            .WithName("CheckDatasetHealth")
            .WithSummary("A dataset's health: photos per category, imbalance, exact duplicates (within and across categories), unusable photos; `?labels=true` adds photos the serving model places elsewhere with at least `confidence` (default 0.8).")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapPost("/{id}/photos", UploadAsync)
            .WithName("UploadDatasetPhotos")
            .WithSummary("Upload photos into a category (`?category=PATH`, multipart field `images`); a .zip among them is unpacked, its folders becoming categories below PATH (or below the root when no category is named).")
            .WithDescription("Every file is decoded before it is kept; the answer lists what was stored and what was refused, with the reason, file by file.")
            .DisableAntiforgery()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        return endpoints;
    }

    private static async Task<IResult> UploadAsync(string id, string? category, HttpRequest request, DatasetRegistry registry, CancellationToken cancellationToken)
    {
        if (await registry.EditorAsync(id, cancellationToken) is not { } editor) return UnknownDataset(id);
        if (!request.HasFormContentType)
            return Results.Problem("Send the photos as multipart/form-data in the field 'images'.", statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidDataException || (ex is BadHttpRequestException bad && bad.StatusCode == StatusCodes.Status413PayloadTooLarge))
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Upload too large");
        }
        var files = form.Files.GetFiles("images");
        if (files.Count == 0)
            return Results.Problem("No file received: send photos (or a .zip of category folders) in the multipart field 'images'.", statusCode: StatusCodes.Status400BadRequest, title: "No photos");
        if (files.Count > MaxFilesPerRequest)
            return Results.Problem($"{files.Count} files in one request; send at most {MaxFilesPerRequest} at a time (or one .zip).", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too many files");
        if (string.IsNullOrWhiteSpace(category) && files.Any(f => !f.FileName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)))
            return Results.Problem("Say which category the photos go into: ?category=PATH (a .zip alone may go to the root: its folders become categories).", statusCode: StatusCodes.Status400BadRequest, title: "No category");
        var streams = files.Select(f => (f.FileName, Content: f.OpenReadStream())).ToList();
        try
        {
            var outcome = await editor.AddFilesAsync(category, streams, cancellationToken);
            return Results.Ok(new
            {
                stored = outcome.Stored.Select(s => new { category = s.Category, file = s.FileName, sha256 = s.Sha256, alreadyPresent = s.AlreadyPresent }),
                refused = outcome.Refused.Select(r => new { file = r.FileName, reason = r.Reason }),
            });
        }
        catch (Exception ex) when (ex is DatasetEditException or InvalidPathSegmentException)
        {
            return Results.Problem(ex.Message, statusCode: ex is DatasetItemNotFoundException ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest, title: "Upload refused");
        }
        finally
        {
            foreach (var (_, stream) in streams) await stream.DisposeAsync();
        }
    }

    private static IResult Edit(Func<IResult> edit)
    {
        try
        {
            return edit();
        }
        catch (Exception ex) when (ex is DatasetEditException or InvalidPathSegmentException)
        {
            return Results.Problem(ex.Message, statusCode: ex is DatasetItemNotFoundException ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest);
        }
    }

    private static object Json(DatasetSummary d) => new { id = d.Id, name = d.Name, folder = d.Folder, registered = d.Registered, created = d.CreatedUtc };

    private static IResult UnknownDataset(string id) =>
        Results.Problem($"There is no dataset '{(id.Length > 60 ? id[..60] + "…" : id)}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown dataset");
}
