using RetailCam.Storage.Accounts;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
using RetailCam.Storage;
using RetailCam.Web.Hubs;
using RetailCam.Web.Services;

namespace RetailCam.Web.Api;

/// <summary>
/// The body of <c>POST /api/runs</c>: the dataset (an app dataset's id) and, optionally, the new-run
/// dialog's settings; every one left out is chosen by the planner for the dataset.
/// </summary>
public sealed record StartRunRequest(string? Dataset, string? Backbone = null, int? Epochs = null, int? BatchSize = null, int? ImageSize = null,
    double? LearningRate = null, double? Minutes = null, double? SceneProbability = null, int? SnapshotEvery = null, int? Probes = null);

/// <summary>Training runs over REST: start, read, stop and delete, stored events and the snapshot PNGs the hub's messages link to.</summary>
public static partial class RunsApi
{
    // Losses of a diverging run are NaN: written as "NaN" rather than failing the whole response.
    private static readonly JsonSerializerOptions Json = RetailCam.Engine.EngineJson.Options;

    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/runs").WithTags("Training runs").RequireAuthorization(TeamRoles.Viewer);

        api.MapGet("/", async (RunQueries queries, CancellationToken cancellationToken) =>
            Results.Json(await queries.ListAsync(cancellationToken), Json))
            .WithName("ListRuns")
            .WithSummary("Live and stored training runs with their status, steps and best validation accuracy.")
            .Produces<IReadOnlyList<RunSummaryMessage>>();

        api.MapPost("/", async (StartRunRequest body, DatasetRegistry datasets, TrainingRunService runs, IOptions<TrainingSettings> defaults,
            IOptions<EngineOptions> engine, CancellationToken cancellationToken) =>
        {
            if (string.IsNullOrWhiteSpace(body.Dataset))
                return Results.Problem("Name the dataset to train on: {\"dataset\": ID} (ids from GET /api/datasets).", statusCode: StatusCodes.Status400BadRequest, title: "No dataset");
            if (await datasets.FindAsync(body.Dataset, cancellationToken) is not { } dataset)
                return Results.Problem($"There is no dataset '{body.Dataset}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown dataset");
            var backbone = body.Backbone?.ToLowerInvariant() switch
            {
                null or "resnet18" => BackboneKind.ResNet18,
                "vgg16" => BackboneKind.Vgg16,
                _ => (BackboneKind?)null,
            };
            if (backbone is null) return Results.Problem("backbone must be resnet18 or vgg16.", statusCode: StatusCodes.Status400BadRequest, title: "Bad backbone");
            var configured = defaults.Value;
            var settings = configured with
            {
                Epochs = body.Epochs ?? configured.Epochs,
                BatchSize = body.BatchSize ?? configured.BatchSize,
                ImageSize = body.ImageSize ?? configured.ImageSize,
                LearningRate = body.LearningRate ?? configured.LearningRate,
                TimeBudget = body.Minutes is { } m ? TimeSpan.FromMinutes(m) : configured.TimeBudget,
                SceneProbability = body.SceneProbability ?? configured.SceneProbability,
                SnapshotEverySteps = body.SnapshotEvery ?? configured.SnapshotEverySteps,
                ProbeCount = body.Probes ?? configured.ProbeCount,
            };
            if (body.Minutes is < 0) return Results.Problem("minutes must be 0 (no budget) or more.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid training settings");
            if (settings.Problems() is { Count: > 0 } problems)
                return Results.Problem(string.Join("; ", problems), statusCode: StatusCodes.Status400BadRequest, title: "Invalid training settings");
            var id = await runs.StartFromDatasetAsync(dataset.Id, dataset.Folder, dataset.Id, settings, backbone.Value, engine.Value.ResolvedPretrainedFolder, cancellationToken);
            return Results.Accepted($"/api/runs/{id}", new { id });
        })
            .RequireAuthorization(TeamRoles.Trainer)
            .WithName("StartRun")
            .WithSummary("Start a training run on a dataset; settings left out are planned for it (as `retailcam train` with no options).")
            .DisableAntiforgery()
            .Produces(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/{id}", async (string id, RunQueries queries, RunHistory history, TrainingRunService runs, CancellationToken cancellationToken) =>
        {
            if (!RunQueries.IsValidRunId(id)) return NotARunId(id);
            if (await queries.FindAsync(id, cancellationToken) is not { } summary) return UnknownRun(id);
            var record = await history.GetAsync(id, cancellationToken);
            var queued = runs.Slots.PositionOf(id);
            var epochs = await queries.HistoryAsync(id, 0, cancellationToken);
            return Results.Json(new
            {
                id = summary.RunId,
                status = summary.Status,
                live = summary.Live,
                queuePosition = queued > 0 ? queued : (int?)null,
                step = summary.Steps,
                totalSteps = summary.TotalSteps,
                epoch = summary.Epochs,
                bestAccuracy = summary.BestAccuracy,
                backbone = summary.Backbone,
                created = summary.CreatedUtc,
                dataset = record?.DatasetId,
                datasetVersion = record?.DatasetVersion,
                error = record?.Error,
                metrics = epochs?.Epochs,
            }, Json);
        })
            .WithName("GetRun")
            .WithSummary("A run's status (with its place in the queue while it waits), step, epoch, best accuracy, the dataset version it trained on, and its per-epoch metrics.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/{id}/stop", (string id, TrainingRunService runs) =>
        {
            if (!RunQueries.IsValidRunId(id)) return NotARunId(id);
            return runs.Stop(id)
                ? Results.Accepted($"/api/runs/{id}", new { id, stopping = true })
                : Results.Problem($"Run '{id}' is not training.", statusCode: StatusCodes.Status409Conflict, title: "Not running");
        })
            .RequireAuthorization(TeamRoles.Trainer)
            .WithName("StopRun")
            .WithSummary("Stop a training run (it checkpoints and keeps its best model).")
            .DisableAntiforgery()
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/{id}/resume", async (string id, TrainingRunService runs, CancellationToken cancellationToken) =>
        {
            if (!RunQueries.IsValidRunId(id)) return NotARunId(id);
            if (runs.Live(id) is not null)
                return runs.Resume(id) ? Results.Accepted($"/api/runs/{id}", new { id, resumed = true }) : UnknownRun(id);
            try
            {
                return await runs.ContinueAsync(id, cancellationToken)
                    ? Results.Accepted($"/api/runs/{id}", new { id, resumed = true })
                    : UnknownRun(id);
            }
            catch (InvalidOperationException ex)
            {
                return Results.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "Cannot resume");
            }
        })
            .RequireAuthorization(TeamRoles.Trainer)
            .WithName("ResumeRun")
            .WithSummary("Resume a paused run, or continue an interrupted, stopped or failed one from its last checkpoint with the settings it started with.")
            .DisableAntiforgery()
            .Produces(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapDelete("/{id}", async (string id, RunQueries queries, TrainingRunService runs, CancellationToken cancellationToken) =>
        {
            if (!RunQueries.IsValidRunId(id)) return NotARunId(id);
            if (runs.Live(id) is not null) return Results.Problem($"Run '{id}' is training: stop it first.", statusCode: StatusCodes.Status409Conflict, title: "Still running");
            if (await queries.FindAsync(id, cancellationToken) is null) return UnknownRun(id);
            await runs.DeleteAsync(id, cancellationToken);
            return Results.NoContent();
        })
            .RequireAuthorization(TeamRoles.Admin)
            .WithName("DeleteRun")
            .WithSummary("Delete a finished run with its models, checkpoints and snapshots.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapGet("/{id}/events", async (string id, long? since, RunQueries queries, CancellationToken cancellationToken) =>
        {
            if (!RunQueries.IsValidRunId(id)) return NotARunId(id);
            if (since is < 0) return Results.Problem("since must be a step number, 0 or more.", statusCode: StatusCodes.Status400BadRequest, title: "Bad step");
            return await queries.HistoryAsync(id, since ?? 0, cancellationToken) is { } history
                ? Results.Json(history, Json)
                : UnknownRun(id);
        })
            .WithName("GetRunEvents")
            .WithSummary("What a run stored from step `since` on (default 0): progress, epochs, status changes and snapshots, each in step order.")
            .WithDescription("The same document the hub's GetHistory returns, for clients that poll instead of holding a SignalR connection.")
            .Produces<RunHistoryMessage>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/{id}/snapshots/{file}", (string id, string file, TrainingRunService runs) =>
        {
            if (!RunQueries.IsValidRunId(id)) return NotARunId(id);
            if (!SnapshotFileName().IsMatch(file))
                return Results.Problem($"'{file}' is not a snapshot file name (step-NNNNNNN-probe-N-true.png or …-predicted.png).",
                    statusCode: StatusCodes.Status400BadRequest, title: "Bad file name");
            return Png(runs.Paths(id).SnapshotFile(file), $"Run '{id}' has no snapshot '{file}'.");
        })
            .WithName("GetRunSnapshot")
            .WithSummary("A class-map snapshot of a probe image as a transparent PNG, to lay over the probe photo.")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/{id}/probes/{probe:int}.png", (string id, int probe, TrainingRunService runs) =>
        {
            if (!RunQueries.IsValidRunId(id)) return NotARunId(id);
            if (probe < 0) return Results.Problem("probe must be 0 or more.", statusCode: StatusCodes.Status400BadRequest, title: "Bad probe");
            return Png(runs.Paths(id).ProbeFile(probe), $"Run '{id}' has no probe {probe}.");
        })
            .WithName("GetRunProbe")
            .WithSummary("A probe photo of a run (as the network saw it) as PNG: the background of its snapshots.")
            .Produces(StatusCodes.Status200OK, contentType: "image/png")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return endpoints;
    }

    private static IResult Png(string path, string missing) =>
        File.Exists(path)
            ? Results.File(path, "image/png")
            : Results.Problem(missing, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    private static IResult NotARunId(string id) =>
        Results.Problem($"'{id}' is not a run id.", statusCode: StatusCodes.Status400BadRequest, title: "Bad run id");

    private static IResult UnknownRun(string id) =>
        Results.Problem($"No run '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found");

    [GeneratedRegex("^step-[0-9]{1,12}-probe-[0-9]{1,3}-(true|predicted)\\.png$")]
    private static partial Regex SnapshotFileName();
}
