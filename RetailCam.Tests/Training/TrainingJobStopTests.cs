using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
using RetailCam.Tests.Support;
using TorchSharp;

namespace RetailCam.Tests.Training;

/// <summary>
/// A run stopped by a user ends for good, so its best model is tuned for serving; a run suspended for a
/// restart resumes later, so its tuning waits for that end and the shutdown is not held up by it.
/// </summary>
public sealed class TrainingJobStopTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("retailcam-stop-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_stopped_run_tunes_its_model_for_serving_and_a_suspended_one_leaves_that_to_its_end(bool suspend)
    {
        var data = Path.Combine(folder, "shapes");
        new SyntheticShapes(120, 32, seed: 31).WritePngTree(data);
        var spec = new TrainingJobSpec
        {
            DataFolder = data,
            RunFolder = Path.Combine(folder, "run"),
            Backbone = BackboneKind.ResNet18,
            LoaderWorkers = 1,
            Settings = TrainingSettings.Exactly(new TrainingOptions
            {
                // Many epochs: the run can only end by the stop that follows its first epoch.
                Epochs = 50, BatchSize = 16, ImageSize = 32, SnapshotEverySteps = 0, ProbeCount = 1, CheckpointEverySteps = 100,
            }),
        };
        using var control = new RunControl();
        using var stop = new CancellationTokenSource();
        var events = new TrainingEventStream();
        using var subscription = events.Subscribe(e =>
        {
            if (e is not EpochEnded) return;
            if (suspend) control.Suspend();
            stop.Cancel();
        });

        var result = TrainingJob.Run(spec, torch.CPU, events, control, resume: false, stop.Token);

        Assert.Equal(RunStatus.Stopped, result.Summary.Status);
        Assert.True(result.Summary.EpochsCompleted is > 0 and < 50, $"{result.Summary.EpochsCompleted} epochs");
        Assert.Equal(suspend, result.Serving is null);
        // The model a suspended run leaves is the one its end will tune, as a kill before the tuning would leave it.
        Assert.Equal(suspend, TrainingJob.AwaitsServingTuning(spec.RunFolder));
    }
}
