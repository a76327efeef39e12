using RetailCam.Engine.Telemetry;

namespace RetailCam.Engine.Training.Callbacks;

/// <summary>
/// The run's step, loss and throughput on the engine's meter (<see cref="EngineTelemetry"/>) while it
/// trains, and its images on the process-wide counter. It reads what the batch's event reports, so it
/// follows the throughput meter; a run leaves the gauges when it ends, however it ends.
/// </summary>
internal sealed class TelemetryRecording : ITrainingCallback
{
    private LiveRunGauges? gauges;
    private IDisposable? tracking;

    public int Order => CallbackOrder.Telemetry;

    public void OnRunStarted(TrainingContext context)
    {
        gauges = new LiveRunGauges(context.Run.RunId);
        gauges.Update(context.Step, double.NaN, 0);
        tracking = EngineTelemetry.TrackRun(gauges);
    }

    public void OnStepEnded(TrainingContext context, int images) => EngineTelemetry.TrainingImages.Add(images);

    public void OnBatchEnded(TrainingContext context, BatchEnded batch) => gauges?.Update(batch.Step, batch.Loss, batch.ImagesPerSecond);

    public void OnRunEnded(TrainingContext context, RunStatus status)
    {
        tracking?.Dispose();
        tracking = null;
    }
}
