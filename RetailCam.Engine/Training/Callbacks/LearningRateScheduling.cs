namespace RetailCam.Engine.Training.Callbacks;

/// <summary>Sets every parameter group's rate before each step from <see cref="LearningRateSchedule"/>, by steps or by the time budget, whichever is further along.</summary>
internal sealed class LearningRateScheduling : ITrainingCallback
{
    private int warmupSteps;

    public int Order => CallbackOrder.Schedule;

    public void OnRunStarted(TrainingContext context) =>
        // On a small dataset the fixed warm-up would fill the whole run: capped at a tenth of it.
        warmupSteps = (int)Math.Min(context.Options.WarmupSteps, Math.Max(1, context.TotalSteps / 10));

    public void OnBatchStarting(TrainingContext context, LabelledBatch batch)
    {
        var bySteps = (double)context.Step / context.TotalSteps;
        var progress = context.Options.TimeBudget is { } budget ? Math.Max(bySteps, context.ElapsedSeconds / budget.TotalSeconds) : bySteps;
        context.LearningRate = LearningRateSchedule.At(context.Options.LearningRate, context.Step, warmupSteps, progress);
        var groups = context.Optimizer.ParamGroups.ToList();
        for (var i = 0; i < groups.Count; i++)
            groups[i].LearningRate = context.LearningRate * (i < context.LearningRateScales.Count ? context.LearningRateScales[i] : 1);
    }
}
