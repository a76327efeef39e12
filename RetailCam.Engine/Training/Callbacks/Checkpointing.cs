namespace RetailCam.Engine.Training.Callbacks;

/// <summary>
/// Leaves a resumable state every K steps, at each epoch end and when the run is stopped. A
/// checkpoint names the next batch to train: after a validated full epoch that is the next epoch's
/// first; otherwise the current epoch goes on (and is validated) after a resume.
/// </summary>
internal sealed class Checkpointing : ITrainingCallback
{
    public int Order => CallbackOrder.Checkpoint;

    public void OnBatchEnded(TrainingContext context, BatchEnded batch)
    {
        var every = context.Options.CheckpointEverySteps;
        if (every > 0 && context.Step % every == 0) Save(context, context.Epoch, context.BatchInEpoch);
    }

    public void OnEpochEnded(TrainingContext context, EpochEnded epoch)
    {
        if (context.BatchInEpoch >= context.BatchesPerEpoch) Save(context, context.Epoch + 1, 0);
        else Save(context, context.Epoch, context.BatchInEpoch);
    }

    public void OnRunEnded(TrainingContext context, RunStatus status)
    {
        if (status == RunStatus.Stopped) Save(context, context.Epoch, context.BatchInEpoch);
    }

    private static void Save(TrainingContext context, int epoch, int batchInEpoch) =>
        Checkpoint.Save(context.Run.Paths.CheckpointFolder, context.Network, context.Optimizer,
            new TrainingPosition(context.Step, epoch, batchInEpoch, context.BestAccuracy, context.BestEpoch, context.ElapsedSeconds, Checkpoint.CaptureRng()));
}
