namespace RetailCam.Engine.Training;

/// <summary>Pause and resume from any thread; the trainer waits between steps while paused.</summary>
public sealed class RunControl : IDisposable
{
    private readonly ManualResetEventSlim running = new(initialState: true);

    public bool IsPaused => !running.IsSet;

    public void Pause() => running.Reset();

    public void Resume() => running.Set();

    /// <summary>Blocks while paused.</summary>
    internal void WaitWhilePaused(CancellationToken cancellationToken) => running.Wait(cancellationToken);

    public void Dispose() => running.Dispose();
}
