using System.Diagnostics;

namespace RetailCam.Engine.Training.Callbacks;

/// <summary>
/// Images per second (an exponential average of each batch's rate, loading included) and the time
/// left, by steps or by the time budget. The clock restarts when an epoch starts and when a pause
/// ends, so neither validation nor waiting counts as slow training.
/// </summary>
internal sealed class ThroughputMeter : ITrainingCallback
{
    private readonly Stopwatch batchClock = new();

    public int Order => CallbackOrder.Throughput;

    public void OnEpochStarting(TrainingContext context) => batchClock.Restart();

    public void OnStatusChanged(TrainingContext context, StatusChanged status)
    {
        if (status.Status == RunStatus.Running) batchClock.Restart();
    }

    public void OnStepEnded(TrainingContext context, int images)
    {
        var seconds = batchClock.Elapsed.TotalSeconds;
        batchClock.Restart();
        var instant = images / Math.Max(seconds, 1e-9);
        var rate = context.ImagesPerSecond == 0 ? instant : 0.9 * context.ImagesPerSecond + 0.1 * instant;
        context.ImagesPerSecond = rate;
        var bySteps = (context.TotalSteps - context.Step) * (double)context.Options.BatchSize / Math.Max(rate, 1e-9);
        context.EstimatedRemaining = context.Options.TimeBudget is { } limit
            ? TimeSpan.FromSeconds(Math.Max(0, Math.Min(limit.TotalSeconds - context.ElapsedSeconds, bySteps)))
            : TimeSpan.FromSeconds(bySteps);
    }
}
