using RetailCam.Engine.Models;

namespace RetailCam.Engine.Training;

/// <summary>What observers on the training thread can see of a run.</summary>
public sealed class TrainingContext(CamNetwork network, TrainingOptions options, RunFolder run, IReadOnlyList<string> categories, TrainingEventStream events)
{
    /// <summary>Tells every consumer of the run's event stream; thread-safe, never blocks.</summary>
    public void Publish(TrainingEvent trainingEvent) => events.Publish(trainingEvent);

    public CamNetwork Network { get; } = network;
    public TrainingOptions Options { get; } = options;
    public RunFolder Run { get; } = run;
    public IReadOnlyList<string> Categories { get; } = categories;
    public long Step { get; internal set; }
    public int Epoch { get; internal set; }
}

/// <summary>
/// An ordered observer that runs on the training thread between steps (fastai's callback design):
/// it may use the network, so it must be quick; slow work (encoding, I/O) goes to its own thread.
/// </summary>
public interface ITrainingCallback
{
    void OnRunStarted(TrainingContext context) { }
    void OnBatchEnded(TrainingContext context, BatchEnded batch) { }
    void OnEpochEnded(TrainingContext context, EpochEnded epoch) { }
    void OnRunEnded(TrainingContext context, RunStatus status) { }
}
