using System.Collections.Concurrent;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
using RetailCam.Tests.Support;
using static TorchSharp.torch;

namespace RetailCam.Tests.Training;

[Collection(GlobalGeneratorCollection.Name)]
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
        // What a save killed half-way leaves beside the checkpoint; the next save removes it.
        var leftover = Directory.CreateDirectory(Path.Combine(folder, ".checkpoint-0123456789abcdef")).FullName;
        var summary = new Trainer(TinyNetworks.Create(), Quick(epochs: 3) with { CheckpointEverySteps = 0 }, SyntheticShapes.Categories,
            trainSet.AsBatches(32, true), validationSet.AsBatches(30, false), run, new TrainingEventStream(), [new CancelAtStep(3, cancellation)])
            .Run(resume: false, cancellation.Token);

        Assert.Equal(RunStatus.Stopped, summary.Status);
        Assert.NotNull(Checkpoint.Find(run.Paths.CheckpointFolder));
        Assert.False(Directory.Exists(leftover));
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

    [Fact]
    public void A_stopped_and_resumed_run_ends_with_the_weights_optimiser_state_and_random_draws_of_an_uninterrupted_one()
    {
        var trainSet = new SyntheticShapes(160, 32, seed: 3);
        var validationSet = new SyntheticShapes(30, 32, seed: 4);
        var options = Quick(epochs: 2) with { CheckpointEverySteps = 0 };
        Trainer TrainerFor(CamNetwork network, RunFolder run, ITrainingCallback recorder) => new(network, options, SyntheticShapes.Categories,
            trainSet.AsBatches(32, true), validationSet.AsBatches(30, false), run, new TrainingEventStream(), [recorder]);

        using var wholeNetwork = TinyNetworks.Create(seed: 9);
        var whole = new ResumeRecorder();
        var uninterrupted = TrainerFor(wholeNetwork, new RunFolder(Path.Combine(folder, "whole")), whole).Run(resume: false, CancellationToken.None);

        var run = new RunFolder(Path.Combine(folder, "stopped"));
        using var cancellation = new CancellationTokenSource();
        var beforeStop = new ResumeRecorder { CancelAtStep = 7, Cancellation = cancellation };
        using (var stoppedNetwork = TinyNetworks.Create(seed: 9))
        {
            var stopped = TrainerFor(stoppedNetwork, run, beforeStop).Run(resume: false, cancellation.Token);
            Assert.Equal(RunStatus.Stopped, stopped.Status);
            Assert.Equal(7, stopped.Steps);
        }
        // Another initial seed: only the checkpoint can make the two runs meet.
        using var resumedNetwork = TinyNetworks.Create(seed: 42);
        var afterResume = new ResumeRecorder();
        var resumed = TrainerFor(resumedNetwork, run, afterResume).Run(resume: true, CancellationToken.None);

        Assert.Equal(RunStatus.Completed, resumed.Status);
        Assert.Equal(10, uninterrupted.Steps);
        Assert.Equal(10, resumed.Steps);
        var expected = wholeNetwork.state_dict();
        var actual = resumedNetwork.state_dict();
        Assert.Equal(expected.Keys, actual.Keys);
        Assert.All(expected, pair => Assert.True(pair.Value.allclose(actual[pair.Key], rtol: 1e-5, atol: 1e-6), $"{pair.Key} differs after resume"));

        Assert.NotNull(beforeStop.OptimizerState);
        Assert.NotNull(afterResume.OptimizerState);
        Assert.Equal(beforeStop.OptimizerState.Count, afterResume.OptimizerState.Count);
        Assert.All(beforeStop.OptimizerState.Zip(afterResume.OptimizerState), pair =>
        {
            Assert.Equal(7, pair.First.Step);
            Assert.Equal(pair.First.Step, pair.Second.Step);
            Assert.True(pair.First.Moments.Zip(pair.Second.Moments).All(m => m.First.allclose(m.Second, rtol: 0, atol: 0)), "an AdamW moment differs after loading");
        });

        Assert.Equal(10, whole.Draws.Count);
        Assert.Equal(7, beforeStop.Draws.Count);
        Assert.Equal(whole.Draws, beforeStop.Draws.Concat(afterResume.Draws));
    }

    [Fact]
    public void The_device_given_to_the_trainer_holds_every_parameter_and_every_batch()
    {
        var trainSet = new SyntheticShapes(64, 32, seed: 5);
        var validationSet = new SyntheticShapes(30, 32, seed: 6);
        var device = CPU;
        var recorder = new DeviceRecorder();
        using var network = TinyNetworks.Create();
        var summary = new Trainer(network, Quick(epochs: 1), SyntheticShapes.Categories, trainSet.AsBatches(32, true), validationSet.AsBatches(30, false),
            new RunFolder(folder), new TrainingEventStream(), [recorder], device: device).Run(resume: false, CancellationToken.None);

        Assert.Equal(2, summary.Steps);
        Assert.Equal(2 * 2, recorder.BatchDevices.Count);
        Assert.NotEmpty(recorder.ParameterDevices);
        Assert.All(recorder.BatchDevices.Concat(recorder.ParameterDevices), d => Assert.Equal((device.type, device.index), (d.type, d.index)));
    }

    [Fact]
    public void The_head_only_phase_holds_the_backbone_still_and_in_evaluation_mode_through_validation_and_snapshots_then_releases_it_once()
    {
        var trainSet = new SyntheticShapes(64, 32, seed: 7);
        var validationSet = new SyntheticShapes(30, 32, seed: 8);
        // 25 epochs of 2 batches: the phase is capped at a tenth of the run, 5 steps, so it spans two validations.
        var options = Quick(epochs: 25) with { HeadOnlySteps = 5, SnapshotEverySteps = 2, CheckpointEverySteps = 0 };
        var probes = Enumerable.Range(0, 2).Select(i => new ProbeImage($"probe/{i}.png", validationSet.Labels[i], validationSet.Images[i], 32, 32)).ToList();
        using var snapshots = new ClassMapSnapshots(probes);
        var recorder = new PhaseRecorder();
        using var network = TinyNetworks.Create();
        var backboneAtStart = network.Backbone.parameters().Select(p => p.detach().clone()).ToList();
        new Trainer(network, options, SyntheticShapes.Categories, trainSet.AsBatches(32, true), validationSet.AsBatches(30, false),
            new RunFolder(folder), new TrainingEventStream(), [snapshots, recorder]).Run(resume: false, CancellationToken.None);

        Assert.Equal(50, recorder.Phases.Count);
        Assert.All(recorder.Phases.Take(5), p => Assert.Equal((false, false), (p.BackboneTraining, p.BackboneLearning)));
        Assert.All(recorder.Phases.Skip(5), p => Assert.Equal((true, true), (p.BackboneTraining, p.BackboneLearning)));
        Assert.All(recorder.BackboneAfterPhase!.Zip(backboneAtStart), pair => Assert.True(pair.First.allclose(pair.Second, rtol: 0, atol: 0), "the backbone learned in the head-only phase"));
    }

    [Fact]
    public void A_callback_that_requests_a_stop_ends_the_run_as_completed_after_validating_the_epoch_without_an_exception()
    {
        var trainSet = new SyntheticShapes(160, 32, seed: 3);
        var validationSet = new SyntheticShapes(30, 32, seed: 4);
        var run = new RunFolder(folder);
        var summary = new Trainer(TinyNetworks.Create(), Quick(epochs: 2), SyntheticShapes.Categories, trainSet.AsBatches(32, true),
            validationSet.AsBatches(30, false), run, new TrainingEventStream(), [new StopAtStep(3)]).Run(resume: false, CancellationToken.None);

        Assert.Equal(RunStatus.Completed, summary.Status);
        Assert.Equal(3, summary.Steps);
        Assert.Equal([1L, 2, 3], run.ReadEvents().OfType<BatchEnded>().Select(b => b.Step));
        var epoch = Assert.Single(run.ReadEvents().OfType<EpochEnded>());
        Assert.Equal(3, epoch.Step);
        Assert.Equal([RunStatus.Running, RunStatus.Completed], run.ReadEvents().OfType<StatusChanged>().Select(s => s.Status));
    }

    private sealed record AdamState(long Step, Tensor[] Moments);

    /// <summary>Draws from the global generator before every batch (as dropout or augmentation would) and copies the optimiser's state at the run's edges.</summary>
    private sealed class ResumeRecorder : ITrainingCallback
    {
        public long CancelAtStep { get; init; } = -1;
        public CancellationTokenSource? Cancellation { get; init; }
        public List<float> Draws { get; } = [];
        public List<AdamState>? OptimizerState { get; private set; }

        // After the checkpoint: the state a stopped run saved, and the one a resumed run loaded.
        public int Order => CallbackOrder.Checkpoint + 1;

        public void OnRunStarted(TrainingContext context)
        {
            if (context.Step > 0) OptimizerState = Copy(context.Optimizer);
        }

        public void OnBatchStarting(TrainingContext context, LabelledBatch batch)
        {
            using var draw = rand(1);
            Draws.Add(draw.item<float>());
        }

        public void OnBatchEnded(TrainingContext context, BatchEnded batch)
        {
            if (batch.Step == CancelAtStep) Cancellation!.Cancel();
        }

        public void OnRunEnded(TrainingContext context, RunStatus status)
        {
            if (status == RunStatus.Stopped) OptimizerState = Copy(context.Optimizer);
        }

        private static List<AdamState> Copy(TorchSharp.torch.optim.Optimizer optimizer) =>
            ((TorchSharp.Modules.OptimizerHelper)optimizer).state_dict().State.Cast<TorchSharp.Modules.AdamW.State>()
                .Select(s => new AdamState(s.step, [s.exp_avg.clone(), s.exp_avg_sq.clone()])).ToList();
    }

    private sealed class DeviceRecorder : ITrainingCallback
    {
        public List<Device> BatchDevices { get; } = [];
        public List<Device> ParameterDevices { get; } = [];

        public void OnBatchStarting(TrainingContext context, LabelledBatch batch)
        {
            BatchDevices.Add(batch.Images.device);
            BatchDevices.Add(batch.Labels.device);
            ParameterDevices.AddRange(context.Network.parameters().Select(p => p.device));
        }
    }

    private sealed record Phase(bool BackboneTraining, bool BackboneLearning);

    private sealed class PhaseRecorder : ITrainingCallback
    {
        public List<Phase> Phases { get; } = [];
        public List<Tensor>? BackboneAfterPhase { get; private set; }

        public void OnBatchStarting(TrainingContext context, LabelledBatch batch)
        {
            var backbone = context.Network.Backbone;
            Phases.Add(new Phase(backbone.training, backbone.parameters().All(p => p.requires_grad)));
            // Kept past the batch's dispose scope.
            if (context.Step == 5) BackboneAfterPhase = backbone.parameters().Select(p => p.detach().clone().DetachFromDisposeScope()).ToList();
        }
    }

    private sealed class StopAtStep(long step) : ITrainingCallback
    {
        public void OnBatchEnded(TrainingContext context, BatchEnded batch)
        {
            if (batch.Step == step) context.RequestStop();
        }
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
