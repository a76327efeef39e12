namespace RetailCam.Engine.Training.Callbacks;

/// <summary>
/// Ends the run as completed when validation accuracy has not improved for
/// <see cref="TrainingOptions.EarlyStoppingPatience"/> epochs, but never in the first half of the
/// schedule, where the learning rate is still high and plateaus are common. The best model is
/// already saved; stopping only saves the time.
/// </summary>
internal sealed class EarlyStopping : ITrainingCallback
{
    public int Order => CallbackOrder.EarlyStopping;

    public void OnEpochEnded(TrainingContext context, EpochEnded epoch)
    {
        var patience = context.Options.EarlyStoppingPatience;
        if (patience <= 0 || context.BestEpoch < 0 || epoch.Epoch - context.BestEpoch < patience) return;
        var progress = (double)context.Step / Math.Max(1, context.TotalSteps);
        if (context.Options.TimeBudget is { } budget) progress = Math.Max(progress, context.ElapsedSeconds / budget.TotalSeconds);
        if (progress >= 0.5) context.RequestStop(RunStatus.Completed);
    }
}
