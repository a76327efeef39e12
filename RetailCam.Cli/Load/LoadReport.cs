using System.Text.Json.Serialization;

namespace RetailCam.Cli.Load;

/// <summary>
/// What `load` prints (camelCase with --json). The latency and training figures are written as null
/// rather than left out when there are none, so a script reads "measured, nothing there" plainly.
/// </summary>
/// <param name="Requests">Requests answered or failed within the window.</param>
/// <param name="ErrorsByKind">Failed requests by HTTP status ("429", "503", …), "timeout" or "connection".</param>
/// <param name="UnfinishedAtEnd">Requests still in flight when the window closed, cancelled and counted nowhere else.</param>
/// <param name="RequestsPerSecond">Requests (answered or failed) per second of the window.</param>
/// <param name="PhotosPerSecond">Photos predicted (in successful requests) per second of the window.</param>
/// <param name="LatencyMs">Of successful requests, nearest-rank percentiles of every sample.</param>
/// <param name="TrainingImagesPerSecond">Mean images/s of the training run over the steps that ended during the load; null when no run trained.</param>
/// <param name="TrainingImagesPerSecondBefore">The run's images/s at the last step before the load.</param>
/// <param name="TrainingStatusAfter">The run's status when the load ended ("running" unless it stopped within the window).</param>
internal sealed record LoadReport(
    string Url, int Clients, int Seconds, int PhotosPerRequest, int Photos, double ElapsedSeconds,
    int Requests, int Succeeded, int Errors, IReadOnlyDictionary<string, int> ErrorsByKind, int UnfinishedAtEnd, bool RequestCapReached,
    double RequestsPerSecond, double PhotosPerSecond,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] LatencySummary? LatencyMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? TrainingRun,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? TrainingSteps,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? TrainingImagesPerSecond,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? TrainingImagesPerSecondBefore,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? TrainingStatusAfter)
{
    public static LoadReport From(LoadSettings settings, int photos, LoadTally tally, TrainingDuringLoad? training)
    {
        var seconds = Math.Max(tally.Elapsed.TotalSeconds, 1e-3);
        return new LoadReport(
            settings.Server.ToString(), settings.Clients, (int)settings.Duration.TotalSeconds, settings.PhotosPerRequest, photos, Math.Round(tally.Elapsed.TotalSeconds, 2),
            tally.Requests, tally.Succeeded, tally.Requests - tally.Succeeded, tally.Errors, tally.Unfinished, tally.RequestCapReached,
            Math.Round(tally.Requests / seconds, 2), Math.Round(tally.Succeeded * settings.PhotosPerRequest / seconds, 2),
            LatencySummary.Of(tally.LatenciesMs),
            training?.RunId, training?.Steps, training?.ImagesPerSecond, training?.ImagesPerSecondBefore, training?.StatusAfter);
    }
}
