using System.Collections.Concurrent;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Inference;

// Seeded and alone, so the run learns the same way every time: it must improve at least twice.
[Collection(GlobalGeneratorCollection.Name)]
public sealed class PredictorBesideTrainingTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("retailcam-beside-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task The_predictor_answers_concurrent_calls_while_a_run_trains_and_switches_to_each_better_model_without_dropping_one()
    {
        var trainSet = new SyntheticShapes(192, 32, seed: 11);
        var validationSet = new SyntheticShapes(96, 32, seed: 12);
        TorchSharp.torch.random.manual_seed(12);
        var network = CamNetworkFactory.CreateNew(BackboneKind.Vgg16, SyntheticShapes.Classes, headHiddenChannels: 8, backboneWidth: 0.0625);
        var run = new RunFolder(folder);
        var events = new TrainingEventStream();
        var improved = new ConcurrentQueue<long>();
        using var subscription = events.Subscribe(e => { if (e is EpochEnded { IsBest: true } epoch) improved.Enqueue(epoch.Step); });
        // Long enough that the callers always overlap training, however busy the machine; stopped once they have shown it.
        var options = new TrainingOptions
        {
            Epochs = 60, BatchSize = 32, LearningRate = 1e-3, WarmupSteps = 2, HeadOnlySteps = 0, FreezeEarlyLayers = false,
            SnapshotEverySteps = 0, CheckpointEverySteps = 0, ImageSize = 32, LabelSmoothing = 0,
        };
        using var stopTraining = new CancellationTokenSource();
        var training = Task.Factory.StartNew(() => new Trainer(network, options, SyntheticShapes.Categories, trainSet.AsBatches(32, true),
            validationSet.AsBatches(96, false), run, events).Run(false, stopTraining.Token), TaskCreationOptions.LongRunning);

        Assert.True(SpinWait.SpinUntil(() => !improved.IsEmpty || training.IsCompleted, TimeSpan.FromMinutes(2)));
        // The run publishes each better model into the same folder: the predictor notices by itself.
        using var predictor = Predictor.ForFolder(run.Paths.ModelFolder, new PredictorOptions { MaxBatch = 8 }, TorchSharp.torch.CPU, "best");

        var answeredDuringTraining = 0;
        var photos = Enumerable.Range(0, 6).Select(i => ImageTensors.ToImage(trainSet.Batch([i]))).ToList();
        var callers = Enumerable.Range(0, 3).Select(c => Task.Run(async () =>
        {
            for (var i = 0; !training.IsCompleted; i++)
            {
                var prediction = await predictor.PredictAsync(photos[(c + i) % photos.Count], $"caller-{c}");
                Assert.Equal(3, prediction.Probabilities.Count);
                if (!training.IsCompleted) Interlocked.Increment(ref answeredDuringTraining);
            }
        })).ToList();
        var seen = 1;
        while (!training.IsCompleted)
        {
            seen = improved.Count;
            if (seen >= 2 && Volatile.Read(ref answeredDuringTraining) >= 20) stopTraining.Cancel();
            await Task.Delay(20);
        }
        await Task.WhenAll(callers);
        var summary = await training;

        Assert.NotEqual(RunStatus.Failed, summary.Status);
        Assert.True(seen >= 2, $"the model improved {seen} time(s) in {summary.EpochsCompleted} epochs");
        Assert.True(answeredDuringTraining >= 20, $"{answeredDuringTraining} predictions answered during training");
        var last = await predictor.PredictAsync(photos[0], "after");
        Assert.Equal("best", last.ModelId);
        // The last answer is the final best model's: a fresh predictor of the folder agrees with it.
        using var fresh = Predictor.ForFolder(run.Paths.ModelFolder, new PredictorOptions(), TorchSharp.torch.CPU);
        var expected = await fresh.PredictAsync(photos[0], "fresh");
        Assert.All(last.Probabilities.Zip(expected.Probabilities), p => Assert.Equal(p.Second, p.First, 5));
        foreach (var photo in photos) photo.Dispose();
        network.Dispose();
    }
}
