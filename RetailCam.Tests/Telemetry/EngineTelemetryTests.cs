using System.Collections.Concurrent;
using System.Diagnostics;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models.Storage;
using RetailCam.Engine.Telemetry;
using RetailCam.Engine.Training;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RetailCam.Tests.Telemetry;

[Collection(EngineInstrumentsCollection.Name)]
public sealed class EngineTelemetryTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"retailcam-telemetry-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    private static byte[] PhotoPng(int seed)
    {
        var random = new Random(seed);
        using var image = new Image<Rgb24>(80, 60);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++) row[x] = new Rgb24((byte)random.Next(256), (byte)(x * 3), (byte)(y * 4));
            }
        });
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        return png.ToArray();
    }

    [Fact]
    public void A_run_shows_its_step_loss_and_throughput_while_it_trains_and_leaves_the_gauges_when_it_ends()
    {
        using var instruments = new EngineInstruments();
        var run = new RunFolder(Path.Combine(folder, "gauged-run"));
        var seen = new List<(long Step, double Loss, double ImagesPerSecond, double Active)>();
        double Shown(string gauge) => instruments.Observe(gauge).Single(m => (string?)m.Tag("run") == run.RunId).Value;
        var watcher = new AtEachBatch(batch => seen.Add(((long)Shown("retailcam.training.step"), Shown("retailcam.training.loss"),
            Shown("retailcam.training.throughput"), instruments.Observe("retailcam.training.runs.active").Single().Value)));
        var options = new TrainingOptions
        {
            Epochs = 2, BatchSize = 32, ImageSize = 32, WarmupSteps = 1, HeadOnlySteps = 0, FreezeEarlyLayers = false,
            CheckpointEverySteps = 100, SnapshotEverySteps = 0,
        };

        var summary = new Trainer(TinyNetworks.Create(seed: 8), options, SyntheticShapes.Categories, new SyntheticShapes(96, 32, seed: 12).AsBatches(32, true),
            new SyntheticShapes(30, 32, seed: 13).AsBatches(30, false), run, new TrainingEventStream(), [watcher]).Run(resume: false, CancellationToken.None);

        Assert.Equal(RunStatus.Completed, summary.Status);
        Assert.Equal([1, 2, 3, 4, 5, 6], seen.Select(s => s.Step));
        Assert.All(seen, s => Assert.True(double.IsFinite(s.Loss) && s.Loss > 0, $"loss {s.Loss}"));
        Assert.All(seen, s => Assert.True(s.ImagesPerSecond > 0, $"{s.ImagesPerSecond} images/s"));
        Assert.All(seen, s => Assert.Equal(1, s.Active));
        Assert.Equal(2 * 96, instruments.Recorded("retailcam.training.images").Sum(m => m.Value));

        Assert.DoesNotContain(instruments.Observe("retailcam.training.step"), m => (string?)m.Tag("run") == run.RunId);
        Assert.Equal(0, instruments.Observe("retailcam.training.runs.active").Single().Value);
    }

    [Fact]
    public void A_run_that_cannot_start_counts_as_a_training_error()
    {
        using var instruments = new EngineInstruments();
        var data = Path.Combine(folder, "one-category");
        new SyntheticShapes(12, 32, seed: 14).WritePngTree(data);
        foreach (var category in Directory.GetDirectories(data, "*", SearchOption.AllDirectories).Where(d => Directory.EnumerateFiles(d).Any()).Skip(1))
            Directory.Delete(category, recursive: true);

        Assert.ThrowsAny<InvalidOperationException>(() => TrainingJob.Run(new TrainingJobSpec { DataFolder = data, RunFolder = Path.Combine(folder, "failed-run") },
            CPU, new TrainingEventStream(), null, resume: false, CancellationToken.None));

        var error = Assert.Single(instruments.Recorded("retailcam.errors"));
        Assert.Equal(EngineTelemetry.ErrorKinds.Training, error.Tag("kind"));
    }

    [Fact]
    public async Task A_prediction_is_timed_counted_and_traced_with_its_decode_load_forward_and_class_map_spans()
    {
        using var instruments = new EngineInstruments();
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is EngineTelemetry.Name or "RetailCam.Tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("RetailCam.Tests");
        using var predictor = Predictor.ForFolder(TinyModels.Save(Path.Combine(folder, "tiny"), seed: 6), new PredictorOptions(), CPU);
        var decoder = new ImageFileDecoder();

        ActivityContext request;
        using (var activity = source.StartActivity("request")!)
        {
            request = activity.Context;
            using var photo = decoder.Decode(PhotoPng(1), "photo.png");
            await predictor.PredictAsync(photo, "photo.png");
        }

        var spans = stopped.Where(s => s.TraceId == request.TraceId).ToList();
        Activity Span(string name) => Assert.Single(spans, s => s.OperationName == name);
        var predict = Span("retailcam.predict");
        Assert.Equal(request.SpanId, predict.ParentSpanId);
        Assert.Equal(request.SpanId, Span("retailcam.decode").ParentSpanId);
        Assert.Equal(request.SpanId, Span("retailcam.model.load").ParentSpanId);
        var forward = Span("retailcam.forward");
        var maps = Span("retailcam.class_maps");
        Assert.Equal(predict.SpanId, forward.ParentSpanId);
        Assert.Equal(predict.SpanId, maps.ParentSpanId);
        Assert.Equal(1, forward.GetTagItem("retailcam.batch.size"));
        Assert.True(forward.StartTimeUtc + forward.Duration <= maps.StartTimeUtc + maps.Duration, "the class maps follow the forward pass");

        var duration = Assert.Single(instruments.Recorded("retailcam.prediction.duration"));
        Assert.True(duration.Value > 0);
        Assert.Equal(1, instruments.Recorded("retailcam.prediction.photos").Sum(m => m.Value));
        var load = Assert.Single(instruments.Recorded("retailcam.model.loads"));
        Assert.Equal(EngineTelemetry.Outcomes.Ok, load.Tag("outcome"));
        Assert.Empty(instruments.Recorded("retailcam.errors"));
    }

    [Fact]
    public async Task Engine_work_outside_any_traced_operation_opens_no_trace()
    {
        var started = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == EngineTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = started.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var predictor = Predictor.ForFolder(TinyModels.Save(Path.Combine(folder, "untraced"), seed: 7), new PredictorOptions(), CPU);

        using (var photo = new ImageFileDecoder().Decode(PhotoPng(2), "loader.png"))
            await predictor.PredictAsync(photo, "loader.png");

        Assert.Empty(started);
    }

    [Fact]
    public async Task Photos_waiting_for_the_serving_thread_show_on_the_queue_gauge()
    {
        using var instruments = new EngineInstruments();
        using var predictor = Predictor.ForFolder(TinyModels.Save(Path.Combine(folder, "queued"), seed: 8), new PredictorOptions { MaxBatch = 1 }, CPU);
        await predictor.LoadAsync();
        using var forwarding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        predictor.Forwarding += (_, _) =>
        {
            forwarding.Set();
            release.Wait(TimeSpan.FromMinutes(1));
        };
        var photos = Enumerable.Range(0, 4).Select(_ => new Image<Rgb24>(40, 40)).ToList();

        // The first photo holds the serving thread in its forward pass; the other three wait behind it.
        var first = predictor.PredictAsync(photos[0], "first");
        Assert.True(forwarding.Wait(TimeSpan.FromMinutes(1)), "the first photo reached the forward pass");
        var rest = photos.Skip(1).Select((p, i) => predictor.PredictAsync(p, $"waiting-{i}")).ToList();
        Assert.True(SpinWait.SpinUntil(() => predictor.QueueLength == 3, TimeSpan.FromMinutes(1)), $"{predictor.QueueLength} photos queued");
        var waiting = instruments.Observe("retailcam.prediction.queue.length").Single().Value;
        release.Set();
        await Task.WhenAll(rest.Append(first));

        Assert.Equal(3, waiting);
        Assert.Equal(0, instruments.Observe("retailcam.prediction.queue.length").Single().Value);
        foreach (var photo in photos) photo.Dispose();
    }

    [Fact]
    public async Task A_model_that_will_not_load_counts_a_failed_load_and_a_prediction_error()
    {
        using var instruments = new EngineInstruments();
        var model = TinyModels.Save(Path.Combine(folder, "broken"), seed: 9);
        await File.WriteAllBytesAsync(Path.Combine(ModelFolder.Resolve(model)!, ModelFolder.WeightsFileName), new byte[64]);
        using var predictor = Predictor.ForFolder(model, new PredictorOptions(), CPU);
        using var photo = new Image<Rgb24>(40, 40);

        await Assert.ThrowsAsync<ModelLoadException>(() => predictor.PredictAsync(photo, "photo.png"));

        var load = Assert.Single(instruments.Recorded("retailcam.model.loads"));
        Assert.Equal(EngineTelemetry.Outcomes.Failed, load.Tag("outcome"));
        var error = Assert.Single(instruments.Recorded("retailcam.errors"));
        Assert.Equal(EngineTelemetry.ErrorKinds.Prediction, error.Tag("kind"));
        Assert.Empty(instruments.Recorded("retailcam.prediction.duration"));
    }

    /// <summary>Runs after the trainer's own callbacks at the end of each batch.</summary>
    private sealed class AtEachBatch(Action<BatchEnded> action) : ITrainingCallback
    {
        public void OnBatchEnded(TrainingContext context, BatchEnded batch) => action(batch);
    }
}
