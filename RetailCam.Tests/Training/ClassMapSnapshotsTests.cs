using RetailCam.Engine.Training;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;

namespace RetailCam.Tests.Training;

public sealed class ClassMapSnapshotsTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"retailcam-snap-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    private static List<ProbeImage> Probes(SyntheticShapes set, int count) =>
        Enumerable.Range(0, count).Select(i => new ProbeImage($"probe/{i}.png", set.Labels[i], set.Images[i], set.Size, set.Size)).ToList();

    private static TrainingOptions Options(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 32, LearningRate = 3e-3, WarmupSteps = 2, HeadOnlySteps = 0, FreezeEarlyLayers = false,
        SnapshotEverySteps = 2, CheckpointEverySteps = 3, LabelSmoothing = 0,
    };

    [Fact]
    public void Snapshots_of_every_probe_are_stored_at_step_zero_and_every_k_steps_and_replay_in_order()
    {
        var trainSet = new SyntheticShapes(128, 32, seed: 1);
        var validationSet = new SyntheticShapes(30, 32, seed: 2);
        var run = new RunFolder(folder);
        var events = new TrainingEventStream();
        var live = new System.Collections.Concurrent.ConcurrentQueue<SnapshotTaken>();
        using var subscription = events.Subscribe(e => { if (e is SnapshotTaken s) live.Enqueue(s); });
        using var snapshots = new ClassMapSnapshots(Probes(validationSet, 4));

        var summary = new Trainer(TinyNetworks.Create(), Options(1), SyntheticShapes.Categories, trainSet.AsBatches(32, true),
            validationSet.AsBatches(30, false), run, events, [snapshots]).Run(false, CancellationToken.None);

        Assert.Equal(4, summary.Steps);
        var stored = run.ReadEvents(snapshots: true).Cast<SnapshotTaken>().ToList();
        Assert.Equal(new long[] { 0, 2, 4 }, stored.Select(s => s.Step).Distinct());
        Assert.Equal(12, stored.Count);
        Assert.All(stored, s =>
        {
            var file = Path.Combine(run.Paths.SnapshotsFolder, s.TrueClassMapFile);
            using var image = Image.Load(file);
            Assert.Equal((32, 32), (image.Width, image.Height));
            Assert.True(File.Exists(Path.Combine(run.Paths.SnapshotsFolder, s.PredictedClassMapFile)));
            Assert.InRange(s.PredictedProbability, 0, 1);
        });
        Assert.True(File.Exists(ClassMapSnapshots.ProbeFile(run, 3)));
        Assert.True(SpinWait.SpinUntil(() => live.Count == 12, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void A_resumed_run_keeps_earlier_snapshots_and_duplicates_none()
    {
        var trainSet = new SyntheticShapes(128, 32, seed: 3);
        var validationSet = new SyntheticShapes(30, 32, seed: 4);
        var run = new RunFolder(folder);
        var probes = Probes(validationSet, 4);

        using (var first = new ClassMapSnapshots(probes))
        {
            var crashing = new Trainer(TinyNetworks.Create(), Options(2), SyntheticShapes.Categories, trainSet.AsBatches(32, true),
                validationSet.AsBatches(30, false), run, new TrainingEventStream(), [first, new CrashAt(5)]);
            Assert.ThrowsAny<InvalidOperationException>(() => crashing.Run(false, CancellationToken.None));
        }
        using (var second = new ClassMapSnapshots(probes))
        {
            new Trainer(TinyNetworks.Create(), Options(2), SyntheticShapes.Categories, trainSet.AsBatches(32, true),
                validationSet.AsBatches(30, false), run, new TrainingEventStream(), [second]).Run(true, CancellationToken.None);
        }

        var stored = run.ReadEvents(snapshots: true).Cast<SnapshotTaken>().Select(s => (s.Step, s.ProbeIndex)).ToList();
        Assert.Equal(stored.Distinct().Count(), stored.Count);
        Assert.Equal(new long[] { 0, 2, 4, 6, 8 }, stored.Select(s => s.Step).Distinct());
        var files = Directory.GetFiles(run.Paths.SnapshotsFolder, "step-*-true.png").Length;
        Assert.Equal(20, files);
    }

    private sealed class CrashAt(long step) : ITrainingCallback
    {
        public void OnBatchEnded(TrainingContext context, BatchEnded batch)
        {
            if (batch.Step == step) throw new InvalidOperationException("simulated crash");
        }
    }
}
