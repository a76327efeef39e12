namespace RetailCam.Web.Services;

/// <summary>Section RetailCam:Runs — how many runs train at once; the rest wait in a queue, started in order.</summary>
public sealed class RunQueueOptions
{
    public const string SectionName = "RetailCam:Runs";

    /// <summary>Runs training at the same time. On a CPU two runs share its cores and each takes twice as long, so one is the default.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 64)] public int MaxConcurrent { get; set; } = 1;

    /// <summary>
    /// What a start does with runs the previous process left unfinished (killed, or stopped by its
    /// shutdown): true resumes them from their last checkpoint; false marks them Interrupted, for a
    /// trainer to resume from the Runs page or POST /api/runs/{id}/resume.
    /// </summary>
    public bool ResumeAfterRestart { get; set; } = true;

    /// <summary>
    /// How long the app's shutdown waits for training runs to checkpoint and stop (the host's shutdown
    /// timeout). A batch in progress finishes first: on a CPU at a large side that can take several seconds.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(5, 600)] public int ShutdownSeconds { get; set; } = 60;
}

/// <summary>
/// The training slots: a run takes one before it starts and gives it back when it ends; runs that find
/// none free wait first come, first served, and a waiting run that is stopped leaves the queue at once.
/// </summary>
public sealed class RunSlots(int capacity)
{
    private readonly Lock gate = new();
    private readonly LinkedList<(string RunId, TaskCompletionSource Turn)> waiting = new();
    private int free = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    /// <summary>Run ids waiting for a slot, first in line first.</summary>
    public IReadOnlyList<string> Waiting
    {
        get { lock (gate) return waiting.Select(w => w.RunId).ToList(); }
    }

    /// <summary>1 for the next run to start, 0 when the run is not waiting.</summary>
    public int PositionOf(string runId)
    {
        lock (gate)
        {
            var position = 1;
            foreach (var (id, _) in waiting)
            {
                if (id == runId) return position;
                position++;
            }
            return 0;
        }
    }

    /// <summary>Completes when the run holds a slot; cancelled, it leaves the queue and throws <see cref="OperationCanceledException"/>.</summary>
    public Task EnterAsync(string runId, CancellationToken cancellationToken)
    {
        LinkedListNode<(string, TaskCompletionSource)> node;
        lock (gate)
        {
            if (free > 0 && waiting.Count == 0)
            {
                free--;
                return Task.CompletedTask;
            }
            node = waiting.AddLast((runId, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
        }
        var turn = node.Value.Item2;
        cancellationToken.Register(() =>
        {
            lock (gate)
            {
                // Handed a slot already: the run takes it and ends at once, giving it back.
                if (node.List is null) return;
                waiting.Remove(node);
            }
            turn.TrySetCanceled(cancellationToken);
        });
        return turn.Task;
    }

    /// <summary>Gives a slot back: to the first run waiting, or to the pool.</summary>
    public void Leave()
    {
        TaskCompletionSource? next = null;
        lock (gate)
        {
            if (waiting.First is { } first)
            {
                waiting.RemoveFirst();
                next = first.Value.Turn;
            }
            else free++;
        }
        next?.TrySetResult();
    }
}
