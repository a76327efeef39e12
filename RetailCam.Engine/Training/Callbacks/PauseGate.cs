namespace RetailCam.Engine.Training.Callbacks;

/// <summary>Holds the run between batches while it is paused, telling observers when it waits and when it goes on.</summary>
internal sealed class PauseGate(RunControl control) : ITrainingCallback
{
    public int Order => CallbackOrder.Pause;

    public void OnBatchStarting(TrainingContext context, LabelledBatch batch)
    {
        if (!control.IsPaused) return;
        context.ChangeStatus(RunStatus.Paused, null);
        if (control.WaitWhilePaused(context.Cancellation)) context.ChangeStatus(RunStatus.Running, "resumed");
    }
}
