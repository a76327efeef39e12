namespace RetailCam.Engine.Training;

/// <summary>Pause and resume from any thread; the trainer waits between steps while paused.</summary>
public sealed class RunControl : IDisposable
{
    private readonly ManualResetEventSlim running = new(initialState: true);

    public bool IsPaused => !running.IsSet;

    public void Pause() => running.Reset();

    public void Resume() => running.Set();

    /// <summary>
    /// Whether the coming stop is a suspension: the run will resume from its checkpoint (the app restarts),
    /// so what a run does only when it ends for good, such as tuning its model for serving, waits until then.
    /// </summary>
    public bool Suspended { get; private set; }

    /// <summary>Marks the coming stop as a suspension (<see cref="Suspended"/>) and lets a paused run reach it.</summary>
    public void Suspend()
    {
        Suspended = true;
        running.Set();
    }

    /// <summary>Blocks while paused; false when the run was cancelled meanwhile (a stop is a request, not an exception).</summary>
    internal bool WaitWhilePaused(CancellationToken cancellationToken) =>
        WaitHandle.WaitAny([running.WaitHandle, cancellationToken.WaitHandle]) == 0 && !cancellationToken.IsCancellationRequested;

    public void Dispose() => running.Dispose();
}
