using RetailCam.Web.Security;
using RetailCam.Storage.Accounts;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models.Export;
using RetailCam.Engine.Models.Storage;
using RetailCam.Storage;
using RetailCam.Web.Services;

namespace RetailCam.Web.Api;

public static class PredictApi
{
    public static IEndpointRouteBuilder MapPredictApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").WithTags("Prediction").RequireAuthorization(TeamRoles.Viewer);

        api.MapPost("/predict", PredictAsync)
            .RequireRateLimiting(RequestLimits.PredictPolicy)
            .WithName("Predict")
            .WithSummary("Categorise one or more photos (multipart form, field 'images').")
            .WithDescription("Returns, per photo, the top leaf categories, the category path with a confidence per level, and boxes, as `retailcam predict --json` does.")
            .DisableAntiforgery()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/models", (PredictionService service) => Results.Ok(new
        {
            active = service.ActiveModel?.Id,
            models = service.Models.Select(m => new { m.Id, m.Backbone, m.InputSize, categories = m.Categories, m.ValidationAccuracy, m.Created, m.Source, broken = m.Broken }),
        }))
            .WithName("ListModels")
            .WithSummary("The models that can serve predictions, newest first, and the one serving now.");

        api.MapGet("/models/{id}/onnx", async (string id, HttpResponse response, OnnxExportCache exports, CancellationToken cancellationToken) =>
        {
            OnnxDownload? download;
            try
            {
                download = await exports.GetAsync(id, cancellationToken);
            }
            catch (ModelLoadException ex)
            {
                return Results.Problem($"Model '{id}' cannot be exported: {ex.Reason}", statusCode: StatusCodes.Status409Conflict, title: "Broken model");
            }
            catch (OnnxExportException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "Not exportable");
            }
            if (download is null) return Results.Problem($"No model '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
            // Says whether this answer paid for an export: the first download of a model version does, later ones read the cache.
            response.Headers["X-RetailCam-Export-Cache"] = download.FromCache ? "hit" : "miss";
            return Results.File(download.Bytes, "application/octet-stream", download.FileName);
        })
            .WithName("ExportModelOnnx")
            .WithSummary("A model as an ONNX file (opset 17): input 'images' [N,3,H,W] RGB 0–255, outputs 'logits' and 'features', categories in the metadata.")
            .WithDescription("`id` as GET /api/models lists it. The export of each model version is cached under the data root's cache folder. "
                + "Class maps: map_c = Σ_k W[c,k]·features[k], W the Gemm's B initializer 'head.classifier.weight' (metadata 'class_map').")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapGet("/uploads/{hash}", async (string hash, UploadStore uploads, CancellationToken cancellationToken) =>
        {
            if (!UploadStore.IsValidHash(hash) || await uploads.FindAsync(hash, cancellationToken) is not { } upload) return NotFound(hash);
            var bytes = await uploads.ReadBytesAsync(hash, cancellationToken);
            return bytes is null ? NotFound(hash) : Results.File(bytes, ImageContentTypes.OfFormat(upload.Format));
        })
            .WithName("GetUpload")
            .WithSummary("An uploaded photo's bytes, by SHA-256.");

        api.MapGet("/maps/{hash}.png", async (string hash, string? model, int @class, string? method, string? colour, PredictionService service, UploadStore uploads, CancellationToken cancellationToken) =>
        {
            if (!UploadStore.IsValidHash(hash) || await uploads.FindAsync(hash, cancellationToken) is null) return NotFound(hash);
            if (!TryParse(method, colour, out var kind, out var palette, out var problem)) return problem!;
            if (await ResolveModelAsync(service, model, @class, cancellationToken) is { } refused) return refused;
            var png = await service.RenderMapAsync(hash, model, @class, kind, palette, cancellationToken);
            return Results.File(png, "image/png");
        })
            .WithName("GetClassMap")
            .WithSummary("A class map of an uploaded photo as a transparent PNG (lay it over the photo; change opacity with CSS).")
            .WithDescription("`model` picks the model that draws the map (default: the one serving now), so maps of several models can be shown side by side.");

        api.MapGet("/maps/{hash}.json", async (string hash, string? model, int @class, string? method, PredictionService service, UploadStore uploads, CancellationToken cancellationToken) =>
        {
            if (!UploadStore.IsValidHash(hash) || await uploads.FindAsync(hash, cancellationToken) is null) return NotFound(hash);
            if (!TryParse(method, null, out var kind, out _, out var problem)) return problem!;
            if (await ResolveModelAsync(service, model, @class, cancellationToken) is { } refused) return refused;
            var summary = await service.DescribeMapAsync(hash, model, @class, kind, cancellationToken);
            return Results.Ok(new
            {
                model = summary.ModelId,
                @class = summary.ClassIndex,
                category = summary.Category,
                method = summary.Method.Name,
                probability = Math.Round(summary.Probability, 6),
                width = summary.Width,
                height = summary.Height,
                boxes = summary.Boxes.Select(b => new { category = b.Category, probability = Math.Round(b.Probability, 6), xMin = b.XMin, yMin = b.YMin, xMax = b.XMax, yMax = b.YMax }),
            });
        })
            .WithName("GetClassMapSummary")
            .WithSummary("What a class map shows besides its pixels: the class's probability under the model and the boxes found on that map.");

        api.MapGet("/maps/{hash}/mask.png", async (string hash, string? model, int @class, string? method, PredictionService service, UploadStore uploads, CancellationToken cancellationToken) =>
        {
            if (!UploadStore.IsValidHash(hash) || await uploads.FindAsync(hash, cancellationToken) is null) return NotFound(hash);
            if (!TryParse(method, null, out var kind, out _, out var problem)) return problem!;
            if (await ResolveModelAsync(service, model, @class, cancellationToken) is { } refused) return refused;
            return Results.File(await service.RenderMaskAsync(hash, model, @class, kind, cancellationToken), "image/png");
        })
            .WithName("GetProductMask")
            .WithSummary("The products' mask of a class map as a transparent PNG: the background dimmed, each product clear with a white outline (the regions its boxes come from).");

        api.MapGet("/maps/{hash}/overlay.png", async (string hash, string? model, int @class, string? method, string? colour, float? opacity, bool? boxes,
            PredictionService service, UploadStore uploads, CancellationToken cancellationToken) =>
        {
            if (!UploadStore.IsValidHash(hash) || await uploads.FindAsync(hash, cancellationToken) is null) return NotFound(hash);
            if (!TryParse(method, colour, out var kind, out var palette, out var problem)) return problem!;
            if (opacity is < 0 or > 1) return Results.Problem("opacity must lie in [0, 1].", statusCode: StatusCodes.Status400BadRequest);
            if (await ResolveModelAsync(service, model, @class, cancellationToken) is { } refused) return refused;
            var png = await service.RenderOverlayAsync(hash, model, @class, kind, palette, opacity ?? 0.5f, boxes ?? true, cancellationToken);
            return Results.File(png, "image/png", $"overlay-{hash[..12]}.png");
        })
            .WithName("GetOverlay")
            .WithSummary("The photo with the class map blended in and boxes drawn, as a PNG download.");

        return endpoints;
    }

    private static async Task<IResult> PredictAsync(HttpRequest request, PredictionService service, Microsoft.Extensions.Options.IOptions<RequestLimitsOptions> limits,
        CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType)
            return Results.Problem("Send the photos as multipart/form-data in the field 'images'.", statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Upload too large");
        }
        catch (InvalidDataException ex)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Upload too large");
        }
        var files = form.Files.GetFiles("images");
        if (files.Count > limits.Value.PredictFilesPerRequest)
            return Results.Problem($"{files.Count} photos in one request; send at most {limits.Value.PredictFilesPerRequest} at a time.",
                statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too many photos");
        if (files.Count == 0)
            return Results.Problem("No photo received: send one or more files in the multipart field 'images'.", statusCode: StatusCodes.Status400BadRequest, title: "No photos");

        var results = new List<object>();
        var errors = new List<(int Status, string File, string Message)>();
        foreach (var file in files)
        {
            var outcome = await service.PredictUploadAsync(file.FileName, file.Length, _ => file.OpenReadStream(), reviewSource: "api", owner: request.HttpContext.Name(), cancellationToken: cancellationToken);
            if (outcome.NoModel)
                return Results.Problem(outcome.Error, statusCode: StatusCodes.Status503ServiceUnavailable, title: "No model to serve");
            if (outcome.Result is { } result)
            {
                results.Add(PredictionJson.Describe(result.Prediction, upload: result.ContentHash, review: result.Review?.Id.ToString()));
                continue;
            }
            errors.Add((outcome.DecodeError is { } kind ? StatusOf(kind) : StatusCodes.Status400BadRequest, file.FileName, outcome.Message!));
            results.Add(new { file = file.FileName, error = outcome.Message, errorKind = outcome.DecodeError?.ToString() });
        }

        if (errors.Count == files.Count)
        {
            // Nothing could be read: the request itself is bad, said with the status of its first problem.
            var first = errors[0];
            return Results.Problem(first.Message, statusCode: first.Status, title: "Unreadable photo",
                extensions: new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { file = e.File, error = e.Message }).ToList() });
        }
        return Results.Ok(new { model = service.ActiveModel?.Id, images = results });
    }

    /// <summary>Null when the model (named, or the serving one) exists and has the class; otherwise the problem to answer.</summary>
    private static async Task<IResult?> ResolveModelAsync(PredictionService service, string? model, int classIndex, CancellationToken cancellationToken)
    {
        ModelInfo? found;
        try
        {
            found = await service.FindModelAsync(model, cancellationToken);
        }
        catch (NoModelException ex)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "No model to serve");
        }
        if (found is null)
            return model is null
                ? Results.Problem(new NoModelException().Message, statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Problem($"No model '{model}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
        if (classIndex < 0 || classIndex >= found.Categories.Count)
            return Results.Problem($"class must lie in [0, {found.Categories.Count - 1}] for model {found.Id}.", statusCode: StatusCodes.Status400BadRequest);
        return null;
    }

    private static IResult NotFound(string hash) =>
        Results.Problem($"No uploaded photo has hash '{hash}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static int StatusOf(ImageDecodeErrorKind kind) => kind switch
    {
        ImageDecodeErrorKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        ImageDecodeErrorKind.NotAnImage or ImageDecodeErrorKind.UnsupportedFormat => StatusCodes.Status415UnsupportedMediaType,
        ImageDecodeErrorKind.CorruptOrTruncated => StatusCodes.Status422UnprocessableEntity,
        _ => StatusCodes.Status400BadRequest,
    };

    private static bool TryParse(string? method, string? colour, out ClassMapMethod kind, out ColourMap palette, out IResult? problem)
    {
        kind = method is null ? ClassMapMethods.Default : ClassMapMethods.Find(method)!;
        palette = ColourMap.Jet;
        problem = null;
        if (kind is null)
        {
            problem = Results.Problem($"method must be one of {string.Join(", ", ClassMapMethods.Names)}.", statusCode: StatusCodes.Status400BadRequest);
            return false;
        }
        try
        {
            palette = colour is null ? ColourMap.Jet : ColourMap.FromName(colour);
        }
        catch (ArgumentException)
        {
            problem = Results.Problem("colour must be jet, turbo or viridis.", statusCode: StatusCodes.Status400BadRequest);
            return false;
        }
        return true;
    }

}
