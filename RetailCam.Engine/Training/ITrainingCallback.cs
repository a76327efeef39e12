namespace RetailCam.Engine.Training;

/// <summary>
/// An ordered participant in the training loop (fastai's callback design). Every hook runs on the
/// training thread, so a callback may use the network, and must be quick: slow work (encoding, I/O)
/// goes to its own thread. Callbacks run in ascending <see cref="Order"/>; the trainer's own ones
/// (pause, freezing, schedule, throughput, model saving, metrics, publishing, telemetry,
/// checkpoints, time budget) take the places in <see cref="CallbackOrder"/>, observers sit between them.
/// </summary>
public interface ITrainingCallback
{
    int Order => CallbackOrder.Observer;

    void OnRunStarted(TrainingContext context) { }

    void OnEpochStarting(TrainingContext context) { }

    /// <summary>The batch is already on the run's device; nothing of it has been trained yet.</summary>
    void OnBatchStarting(TrainingContext context, LabelledBatch batch) { }

    /// <summary>After the optimiser step, before the batch's event is built: where what the event reports is measured.</summary>
    void OnStepEnded(TrainingContext context, int images) { }

    void OnBatchEnded(TrainingContext context, BatchEnded batch) { }

    void OnEpochEnded(TrainingContext context, EpochEnded epoch) { }

    void OnStatusChanged(TrainingContext context, StatusChanged status) { }

    void OnRunEnded(TrainingContext context, RunStatus status) { }
}

/// <summary>
/// Where the trainer's own callbacks stand. The gaps matter: models are saved before the epoch's
/// event is written and published (a reader who sees IsBest finds the model), observers see an
/// event after it is recorded, and checkpoints follow the observers, as a crash in one of them
/// must leave the previous checkpoint.
/// </summary>
public static class CallbackOrder
{
    public const int Pause = 0;
    public const int Freezing = 10;
    public const int Schedule = 20;
    public const int Throughput = 30;
    public const int ModelSaving = 40;
    public const int Metrics = 50;
    public const int Publishing = 60;

    /// <summary>Reads the batch's event as an observer would, but is the trainer's own, so every run reports it.</summary>
    public const int Telemetry = 70;
    public const int Observer = 100;
    public const int Checkpoint = 200;
    public const int TimeBudget = 300;
    public const int EarlyStopping = 310;
}
