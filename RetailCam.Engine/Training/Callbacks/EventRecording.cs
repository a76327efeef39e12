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
