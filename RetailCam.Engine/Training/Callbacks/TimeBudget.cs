namespace RetailCam.Engine.Training.Callbacks;

/// <summary>Ends the run as completed once its wall-clock budget is spent; the epoch in progress is still validated and saved.</summary>
internal sealed class TimeBudget : ITrainingCallback
{
    public int Order => CallbackOrder.TimeBudget;

    public void OnBatchEnded(TrainingContext context, BatchEnded batch)
    {
        if (context.Options.TimeBudget is { } budget && context.ElapsedSeconds >= budget.TotalSeconds) context.RequestStop(RunStatus.Completed);
    }
}
