namespace RetailCam.Engine.Training.Callbacks;

/// <summary>The run's event stream, which the CLI's progress and the web app's pages consume.</summary>
internal sealed class EventPublisher(TrainingEventStream events) : EventRecording
{
    public override int Order => CallbackOrder.Publishing;

    protected override void Record(TrainingEvent trainingEvent) => events.Publish(trainingEvent);
}
