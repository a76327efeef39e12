namespace RetailCam.Engine.Training;

/// <summary>Pause and resume from any thread; the trainer waits between steps while paused.</summary>
public sealed class RunControl : IDisposable
{
    private readonly ManualResetEventSlim running = new(initialState: true);

    public bool IsPaused => !running.IsSet;

    public void Pause() => running.Reset();

    public void Resume() => running.Set();

    /// <summary>Blocks while paused; false when the run was cancelled meanwhile (a stop is a request, not an exception).</summary>
    internal bool WaitWhilePaused(CancellationToken cancellationToken) =>
        WaitHandle.WaitAny([running.WaitHandle, cancellationToken.WaitHandle]) == 0 && !cancellationToken.IsCancellationRequested;

    public void Dispose() => running.Dispose();
}
