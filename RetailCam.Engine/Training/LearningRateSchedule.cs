namespace RetailCam.Engine.Training;

/// <summary>Linear warm-up to the base rate, then cosine decay to 1 % of it, over steps or over a time budget.</summary>
public static class LearningRateSchedule
{
    public const double FloorFraction = 0.01;

    /// <param name="progress">Fraction of the run done, 0..1 (by steps, or by elapsed time under a budget).</param>
    public static double At(double baseRate, long step, int warmupSteps, double progress)
    {
        if (warmupSteps > 0 && step < warmupSteps) return baseRate * (step + 1) / warmupSteps;
        var p = Math.Clamp(progress, 0, 1);
        return baseRate * (FloorFraction + (1 - FloorFraction) * 0.5 * (1 + Math.Cos(Math.PI * p)));
    }
}
