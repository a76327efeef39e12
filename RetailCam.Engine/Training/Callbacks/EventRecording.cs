namespace RetailCam.Engine.Training.Callbacks;

/// <summary>Hands every batch, epoch and status event of the run to one destination, exactly once each.</summary>
internal abstract class EventRecording : ITrainingCallback
{
    public abstract int Order { get; }

    protected abstract void Record(TrainingEvent trainingEvent);

    public void OnBatchEnded(TrainingContext context, BatchEnded batch) => Record(batch);

    public void OnEpochEnded(TrainingContext context, EpochEnded epoch) => Record(epoch);

    public void OnStatusChanged(TrainingContext context, StatusChanged status) => Record(status);
}

/// <summary>metrics.jsonl: written before the event is published, so a viewer who reads the file after an event finds it there.</summary>
internal sealed class MetricsWriter(RunFolder run) : EventRecording
{
    public override int Order => CallbackOrder.Metrics;

    protected override void Record(TrainingEvent trainingEvent) => run.AppendMetric(trainingEvent);
}

/// <summary>The run's event stream, which the CLI's progress and the web app's pages consume.</summary>
internal sealed class EventPublisher(TrainingEventStream events) : EventRecording
{
    public override int Order => CallbackOrder.Publishing;

    protected override void Record(TrainingEvent trainingEvent) => events.Publish(trainingEvent);
}
