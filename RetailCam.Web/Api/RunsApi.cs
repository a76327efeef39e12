using System.Text.Json;
using System.Text.RegularExpressions;
using RetailCam.Web.Hubs;
using RetailCam.Web.Services;

namespace RetailCam.Web.Api;

/// <summary>Training runs over REST: lists, stored events and the snapshot PNGs the hub's messages link to.</summary>
public static partial class RunsApi
{
    // Losses of a diverging run are NaN: written as "NaN" rather than failing the whole response.
    private static readonly JsonSerializerOptions Json = RetailCam.Engine.EngineJson.Options;

    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/runs").WithTags("Training runs");

        api.MapGet("/", async (RunQueries queries, CancellationToken cancellationToken) =>
            Results.Json(await queries.ListAsync(cancellationToken), Json))
            .WithName("ListRuns")
            .WithSummary("Live and stored training runs with their status, steps and best validation accuracy.")
            .Produces<IReadOnlyList<RunSummaryMessage>>();

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
