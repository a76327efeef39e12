using TorchSharp.Modules;

namespace RetailCam.Engine.Training.Callbacks;

/// <summary>
/// The first steps train only the fresh CAM head, so its random gradients do not wreck the
/// pretrained features: the backbone's parameters stop learning and its BatchNorm statistics stay
/// as they were (evaluation mode). Applied once at the start and undone once at the phase change;
/// passes that switch modes on their own (validation, snapshots) restore every module's mode, so
/// nothing needs re-applying per step.
/// </summary>
internal sealed class HeadOnlyPhase : ITrainingCallback
{
    private IReadOnlyList<Parameter> backbone = [];
    private long headOnlySteps;
    private bool frozen;

    public int Order => CallbackOrder.Freezing;

    /// <summary>On a small dataset the fixed head-only phase would fill the whole run: capped at a tenth of it.</summary>
    private static long Steps(TrainingContext context) => Math.Min(context.Options.HeadOnlySteps, context.TotalSteps / 10);

    public void OnRunStarted(TrainingContext context)
    {
        backbone = context.Network.Backbone.parameters().Where(p => p.requires_grad).ToList();
        headOnlySteps = Steps(context);
        frozen = false;
        if (context.Step < headOnlySteps) SetBackboneLearning(context, learning: false);
    }

    /// <summary>
    /// The phase ends after its steps or, under a time budget, once the same share of the budget is
    /// spent: a slow machine that manages fewer steps than planned still fine-tunes for most of its time.
    /// </summary>
    public void OnBatchStarting(TrainingContext context, LabelledBatch batch)
    {
        if (!frozen) return;
        var timeUp = context.Options.TimeBudget is { } budget && context.TotalSteps > 0
            && context.ElapsedSeconds >= budget.TotalSeconds * headOnlySteps / context.TotalSteps;
        if (context.Step >= headOnlySteps || timeUp) SetBackboneLearning(context, learning: true);
    }

    private void SetBackboneLearning(TrainingContext context, bool learning)
    {
        foreach (var parameter in backbone) parameter.requires_grad = learning;
        context.Network.Backbone.train(learning);
        frozen = !learning;
    }
}
