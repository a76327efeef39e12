namespace RetailCam.Engine.Training.Callbacks;

/// <summary>metrics.jsonl: written before the event is published, so a viewer who reads the file after an event finds it there.</summary>
internal sealed class MetricsWriter(RunFolder run) : EventRecording
{
    public override int Order => CallbackOrder.Metrics;

    protected override void Record(TrainingEvent trainingEvent) => run.AppendMetric(trainingEvent);
}
