using System.Collections.Concurrent;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Training;
using RetailCam.Tests.Support;
using static TorchSharp.torch;

namespace RetailCam.Tests.Training;

public sealed class TrainerTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"retailcam-train-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    private static TrainingOptions Quick(int epochs = 4) => new()
    {
        Epochs = epochs,
        BatchSize = 32,
        ImageSize = 48,
        LearningRate = 3e-3,
        WeightDecay = 1e-4,
        WarmupSteps = 5,
        HeadOnlySteps = 0,
        FreezeEarlyLayers = false,
        CheckpointEverySteps = 4,
        SnapshotEverySteps = 0,
        LabelSmoothing = 0,
    };

    [Fact]
    public void Shapes_train_to_high_accuracy_and_their_class_maps_find_the_shapes()
    {
        var trainSet = new SyntheticShapes(600, 48, seed: 1);
        var validationSet = new SyntheticShapes(150, 48, seed: 2);
        var network = TinyNetworks.Create(classes: SyntheticShapes.Classes, channels: 16, hidden: 16);
        var trainer = new Trainer(network, Quick(), SyntheticShapes.Categories, trainSet.AsBatches(32, shuffle: true),
            validationSet.AsBatches(50, shuffle: false), new RunFolder(folder), new TrainingEventStream());

        var summary = trainer.Run(resume: false, CancellationToken.None);

        Assert.Equal(RunStatus.Completed, summary.Status);
        Assert.True(summary.BestValidationAccuracy >= 0.95, $"validation accuracy {summary.BestValidationAccuracy:P1}");

        network.eval();
        using var scope = NewDisposeScope();
        var images = validationSet.Batch(Enumerable.Range(0, 60));
        using var maps = new CamMethod().Compute(network, images, new ClassTarget(validationSet.Labels.Take(60).Select(l => (long)l).ToArray()));
        var upsampled = maps.Upsample(48, 48).data<float>().ToArray();
        var hits = 0;
        for (var i = 0; i < 60; i++)
        {
            var map = upsampled.AsSpan(i * 48 * 48, 48 * 48);
            var box = Localisation.LargestBox(map, 48, 48, 0.5);
            if (box is { } b && b.IoU(validationSet.Boxes[i]) >= 0.5) hits++;
        }
        Assert.True(hits >= 36, $"only {hits} of 60 class-map boxes reach IoU 0.5");
    }

    [Fact]
    public void A_run_killed_mid_epoch_resumes_from_its_checkpoint_with_every_step_recorded_once()
    {
        var trainSet = new SyntheticShapes(160, 32, seed: 3);
        var validationSet = new SyntheticShapes(30, 32, seed: 4);
        var options = Quick(epochs: 2);
        var batchesPerEpoch = 5;

        var uninterrupted = new Trainer(TinyNetworks.Create(seed: 9), options, SyntheticShapes.Categories, trainSet.AsBatches(32, true),
            validationSet.AsBatches(30, false), new RunFolder(Path.Combine(folder, "whole")), new TrainingEventStream())
            .Run(resume: false, CancellationToken.None);

        var run = new RunFolder(Path.Combine(folder, "killed"));
        var crashing = new Trainer(TinyNetworks.Create(seed: 9), options, SyntheticShapes.Categories, trainSet.AsBatches(32, true),
            validationSet.AsBatches(30, false), run, new TrainingEventStream(), [new CrashAtStep(7)]);
        Assert.Throws<SimulatedCrash>(() => crashing.Run(resume: false, CancellationToken.None));

        var resumed = new Trainer(TinyNetworks.Create(seed: 42), options, SyntheticShapes.Categories, trainSet.AsBatches(32, true),
            validationSet.AsBatches(30, false), run, new TrainingEventStream()).Run(resume: true, CancellationToken.None);

        Assert.Equal(RunStatus.Completed, resumed.Status);
        Assert.Equal(uninterrupted.Steps, resumed.Steps);
        Assert.Equal(2 * batchesPerEpoch, resumed.Steps);
        var steps = run.ReadEvents().OfType<BatchEnded>().Select(b => b.Step).ToList();
        Assert.Equal(Enumerable.Range(1, 2 * batchesPerEpoch).Select(i => (long)i), steps);
        Assert.Equal(2, run.ReadEvents().OfType<EpochEnded>().Count());
    }

    [Fact]
    public void A_slow_consumer_loses_batch_events_but_never_the_epoch_or_status_events_and_never_stalls_training()
    {
        var trainSet = new SyntheticShapes(256, 32, seed: 5);
        var validationSet = new SyntheticShapes(30, 32, seed: 6);
        var events = new TrainingEventStream();
        var fast = new ConcurrentQueue<TrainingEvent>();
        var slow = new ConcurrentQueue<TrainingEvent>();
        using var release = new ManualResetEventSlim(false);
        using var fastSubscription = events.Subscribe(fast.Enqueue);
        using var slowSubscription = events.Subscribe(e => { release.Wait(TimeSpan.FromSeconds(30)); slow.Enqueue(e); }, batchEventCapacity: 2);

        var summary = new Trainer(TinyNetworks.Create(), Quick(epochs: 2), SyntheticShapes.Categories, trainSet.AsBatches(32, true),
            validationSet.AsBatches(30, false), new RunFolder(folder), events).Run(resume: false, CancellationToken.None);
        release.Set();

        SpinWait.SpinUntil(() => fast.OfType<StatusChanged>().Any(s => s.Status == RunStatus.Completed), TimeSpan.FromSeconds(10));
        SpinWait.SpinUntil(() => slow.OfType<StatusChanged>().Any(s => s.Status == RunStatus.Completed), TimeSpan.FromSeconds(10));

        Assert.Equal(summary.Steps, fast.OfType<BatchEnded>().Count());
        var fastSteps = fast.OfType<BatchEnded>().Select(b => b.Step).ToList();
        Assert.Equal(fastSteps.Order(), fastSteps);
        Assert.True(slow.OfType<BatchEnded>().Count() < summary.Steps, "the slow consumer should have lost batch events");
        Assert.Equal(2, slow.OfType<EpochEnded>().Count());
    }

    [Fact]
    public async Task Pause_holds_the_run_between_steps_and_resume_continues_it()
    {
        var trainSet = new SyntheticShapes(128, 32, seed: 7);
        var validationSet = new SyntheticShapes(30, 32, seed: 8);
        var events = new TrainingEventStream();
        var statuses = new ConcurrentQueue<StatusChanged>();
        using var subscription = events.Subscribe(e => { if (e is StatusChanged s) statuses.Enqueue(s); });
        using var control = new RunControl();
        control.Pause();
        var trainer = new Trainer(TinyNetworks.Create(), Quick(epochs: 1), SyntheticShapes.Categories, trainSet.AsBatches(32, true),
            validationSet.AsBatches(30, false), new RunFolder(folder), events, control: control);

        var run = Task.Factory.StartNew(() => trainer.Run(false, CancellationToken.None), TaskCreationOptions.LongRunning);
        Assert.True(SpinWait.SpinUntil(() => statuses.Any(s => s.Status == RunStatus.Paused), TimeSpan.FromSeconds(30)));
        Assert.False(run.IsCompleted);
        control.Resume();
        var summary = await run;

        Assert.Equal(RunStatus.Completed, summary.Status);
        Assert.Equal(4, summary.Steps);
    }

    [Fact]
    public void Cancelling_stops_the_run_with_a_checkpoint_to_resume_from()
    {
        var trainSet = new SyntheticShapes(128, 32, seed: 7);
        var validationSet = new SyntheticShapes(30, 32, seed: 8);
        using var cancellation = new CancellationTokenSource();
        var run = new RunFolder(folder);
        var summary = new Trainer(TinyNetworks.Create(), Quick(epochs: 3) with { CheckpointEverySteps = 0 }, SyntheticShapes.Categories,
            trainSet.AsBatches(32, true), validationSet.AsBatches(30, false), run, new TrainingEventStream(), [new CancelAtStep(3, cancellation)])
            .Run(resume: false, cancellation.Token);

        Assert.Equal(RunStatus.Stopped, summary.Status);
        Assert.NotNull(Checkpoint.Find(run.Paths.CheckpointFolder));
        var resumed = new Trainer(TinyNetworks.Create(), Quick(epochs: 3), SyntheticShapes.Categories,
            trainSet.AsBatches(32, true), validationSet.AsBatches(30, false), run, new TrainingEventStream()).Run(resume: true, CancellationToken.None);
        Assert.Equal(12, resumed.Steps);
    }

    [Fact]
    public void Learning_rate_warms_up_linearly_then_decays_by_cosine_to_its_floor()
    {
        Assert.Equal(0.25, LearningRateSchedule.At(1, 0, 4, 0), 9);
        Assert.Equal(1.0, LearningRateSchedule.At(1, 3, 4, 0), 9);
        Assert.Equal(1.0, LearningRateSchedule.At(1, 4, 4, 0), 9);
        Assert.Equal(0.505, LearningRateSchedule.At(1, 50, 4, 0.5), 9);
        Assert.Equal(LearningRateSchedule.FloorFraction, LearningRateSchedule.At(1, 100, 4, 1), 9);
    }

    private sealed class SimulatedCrash : Exception;

    private sealed class CrashAtStep(long step) : ITrainingCallback
    {
        public void OnBatchEnded(TrainingContext context, BatchEnded batch)
        {
            if (batch.Step == step) throw new SimulatedCrash();
        }
    }

    private sealed class CancelAtStep(long step, CancellationTokenSource source) : ITrainingCallback
    {
        public void OnBatchEnded(TrainingContext context, BatchEnded batch)
        {
            if (batch.Step == step) source.Cancel();
        }
    }
}
