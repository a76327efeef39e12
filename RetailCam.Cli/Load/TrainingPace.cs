using System.Net.Http.Json;
using RetailCam.Cli.Commands;
using RetailCam.Engine.Training;

namespace RetailCam.Cli.Load;

/// <summary>How fast a training run went while the load ran, and just before it.</summary>
/// <param name="Steps">Training steps that ended during the load.</param>
/// <param name="ImagesPerSecond">The mean of the trainer's images/s over those steps (0 when none ended).</param>
/// <param name="ImagesPerSecondBefore">The trainer's images/s at the last step before the load, to compare with.</param>
/// <param name="StatusAfter">The run's status when the load ended: anything but running means it stopped within the window, and its figures cover only part of it.</param>
internal sealed record TrainingDuringLoad(string RunId, long Steps, double ImagesPerSecond, double? ImagesPerSecondBefore, string StatusAfter);

/// <summary>
/// Follows one training run of the app beside the load. During the load it only reads the run list
/// (cheap: no event file is read), for the step shown in the progress line; afterwards it reads the
/// run's stored per-step progress once, so the measurement itself adds next to nothing to the load.
/// </summary>
internal sealed class TrainingPace
{
    private readonly HttpClient client;
    private readonly long startStep;

    private TrainingPace(HttpClient client, string runId, long startStep)
    {
        this.client = client;
        RunId = runId;
        this.startStep = startStep;
        LastStep = startStep;
        LastStatus = nameof(RunStatus.Running);
    }

    public string RunId { get; }

    /// <summary>The run's step at the last look (<see cref="SampleAsync"/>).</summary>
    public long LastStep { get; private set; }

    /// <summary>The run's status at the last look.</summary>
    public string LastStatus { get; private set; }

    /// <summary>
    /// The run to follow: <paramref name="runId"/>, or else the one run that is training (the newest when
    /// several are); null, with the reason in <paramref name="note"/> where there is something to say, when none trains.
    /// </summary>
    public static TrainingPace? Choose(IReadOnlyList<RunListing> runs, HttpClient client, string? runId, out string? note)
    {
        note = null;
        if (runId is not null)
        {
            var named = runs.FirstOrDefault(r => r.RunId == runId) ?? throw new UsageException($"--run: the app knows no run '{runId}'.");
            if (named.IsTraining) return new TrainingPace(client, named.RunId, named.Steps);
            note = $"run {runId} is not training ({named.Status.ToLowerInvariant()}): no training figures.";
            return null;
        }
        // The app lists live runs first, newest first.
        var training = runs.Where(r => r.IsTraining).ToList();
        if (training.Count == 0) return null;
        if (training.Count > 1) note = $"{training.Count} runs are training; following {training[0].RunId} (choose with --run).";
        return new TrainingPace(client, training[0].RunId, training[0].Steps);
    }

    /// <summary>The app's runs (GET /api/runs); also the first request of a load, so it says clearly when the app is not there or refuses the token.</summary>
    public static async Task<IReadOnlyList<RunListing>> ListAsync(HttpClient client, string? accessToken, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await client.GetAsync("api/runs", cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw RemoteApp.Unreachable(client.BaseAddress!, ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"RetailCam at {client.BaseAddress} did not answer within {client.Timeout.TotalSeconds:F0} s.", ex);
        }
        using (response)
        {
            if ((int)response.StatusCode is 401 or 403) throw RemoteApp.Refused(client.BaseAddress!, accessToken, (int)response.StatusCode);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<List<RunListing>>(CliRunner.Json, cancellationToken) ?? [];
        }
    }

    /// <summary>Looks at the run's step now; a look that fails is skipped (the figures come from the stored steps afterwards).</summary>
    public async Task SampleAsync(CancellationToken cancellationToken)
    {
        try
        {
            var runs = await client.GetFromJsonAsync<List<RunListing>>("api/runs", CliRunner.Json, cancellationToken);
            if (runs?.FirstOrDefault(r => r.RunId == RunId) is not { } run) return;
            LastStep = Math.Max(LastStep, run.Steps);
            LastStatus = run.Status;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
        {
            // A server busy with the load may answer late: the step shown waits for the next look.
        }
    }

    /// <summary>Looks at the run every <paramref name="interval"/> until cancelled.</summary>
    public async Task FollowAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(interval, cancellationToken);
                await SampleAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The end of the load ends the looks.
        }
    }

    /// <summary>The steps that ended between the start and now, from the run's stored progress.</summary>
    public async Task<TrainingDuringLoad> MeasureAsync(CancellationToken cancellationToken)
    {
        await SampleAsync(cancellationToken);
        var endStep = LastStep;
        var events = await client.GetFromJsonAsync<RunEvents>($"api/runs/{Uri.EscapeDataString(RunId)}/events?since={startStep}", CliRunner.Json, cancellationToken);
        return Summarise(RunId, events?.Progress ?? [], startStep, endStep, LastStatus);
    }

    /// <summary>The steps in (<paramref name="startStep"/>, <paramref name="endStep"/>] and their mean images/s; the rate at <paramref name="startStep"/> or before as the baseline.</summary>
    public static TrainingDuringLoad Summarise(string runId, IReadOnlyList<StepProgress> progress, long startStep, long endStep, string statusAfter)
    {
        var during = progress.Where(p => p.Step > startStep && p.Step <= endStep).ToList();
        var before = progress.Where(p => p.Step <= startStep).MaxBy(p => p.Step);
        return new TrainingDuringLoad(runId, endStep - startStep,
            during.Count == 0 ? 0 : Math.Round(during.Average(p => p.ImagesPerSecond), 1),
            before is null ? null : Math.Round(before.ImagesPerSecond, 1), statusAfter.ToLowerInvariant());
    }

    // The app's messages as this client reads them: only the fields it uses.
    internal sealed record RunListing(string RunId, string Status, bool Live, long Steps)
    {
        public bool IsTraining => Live && Status == nameof(RunStatus.Running);
    }

    internal sealed record StepProgress(long Step, double ImagesPerSecond);

    private sealed record RunEvents(IReadOnlyList<StepProgress> Progress);
}
