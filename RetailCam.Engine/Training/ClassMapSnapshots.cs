using RetailCam.Engine.Models;
using System.Threading.Channels;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Imaging;
using static TorchSharp.torch;

namespace RetailCam.Engine.Training;

/// <summary>
/// Films the class maps of fixed probe images over training: every K steps (and at step 0) one
/// no-grad forward of the probes gives, per probe, the map of its true class and of the predicted
/// class. The training thread only computes the maps; colouring, PNG encoding and file writes happen
/// on a background worker, which is what keeps snapshots within a few percent of training time.
/// Files: probes/probe-N.png (the photo, once) and snapshots/step-SSSSSSS-probe-N-{true,predicted}.png
/// (transparent heat maps a browser lays over the photo), indexed in snapshots/snapshots.jsonl.
/// </summary>
public sealed class ClassMapSnapshots : ITrainingCallback, IDisposable
{
    private readonly IReadOnlyList<ProbeImage> probes;
    private readonly ColourMap colourMap;
    private readonly Channel<Work> queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private Task? writer;
    private Tensor? probeBatch;
    private long lastStep = -1;
    private long trainingThreadTicks;
    private long backgroundTicks;

    /// <summary>Time spent taking snapshots on the training thread (forward passes and maps), so far.</summary>
    public TimeSpan TrainingThreadTime => TimeSpan.FromTicks(Interlocked.Read(ref trainingThreadTicks));

    /// <summary>Time the background writer spent colouring, encoding and writing, so far.</summary>
    public TimeSpan BackgroundTime => TimeSpan.FromTicks(Interlocked.Read(ref backgroundTicks));

    public ClassMapSnapshots(IReadOnlyList<ProbeImage> probes, ColourMap? colourMap = null)
    {
        if (probes.Count > 0 && probes.Any(p => p.Height != probes[0].Height || p.Width != probes[0].Width))
            throw new ArgumentException("Probe images must share one size.", nameof(probes));
        this.probes = probes;
        this.colourMap = colourMap ?? ColourMap.Jet;
    }

    public static string ProbeFile(RunFolder run, int index) => run.Paths.ProbeFile(index);

    public static string SnapshotFile(long step, int probe, bool predicted) =>
        $"step-{step:D7}-probe-{probe}-{(predicted ? "predicted" : "true")}.png";

    public void OnRunStarted(TrainingContext context)
    {
        if (probes.Count == 0) return;
        var (height, width) = (probes[0].Height, probes[0].Width);
        var data = new float[probes.Count * 3 * height * width];
        for (var i = 0; i < probes.Count; i++) probes[i].Rgb.CopyTo(data, i * 3 * height * width);
        probeBatch = tensor(data, [probes.Count, 3, height, width], device: context.Device);
        Directory.CreateDirectory(Path.GetDirectoryName(ProbeFile(context.Run, 0))!);
        for (var i = 0; i < probes.Count; i++)
        {
            var file = ProbeFile(context.Run, i);
            if (File.Exists(file)) continue;
            using var probeImage = probeBatch[i];
            using var photo = ImageTensors.ToImage(probeImage);
            RunFolder.WriteAtomically(file, ClassMapOverlay.EncodePng(photo));
        }
        writer = Task.Run(() => WriteAsync(context));
        if (context.Step == 0) Take(context);
    }

    public void OnBatchEnded(TrainingContext context, BatchEnded batch)
    {
        var every = context.Options.SnapshotEverySteps;
        if (probeBatch is not null && every > 0 && batch.Step % every == 0) Take(context);
    }

    public void OnRunEnded(TrainingContext context, RunStatus status)
    {
        queue.Writer.TryComplete();
        writer?.GetAwaiter().GetResult();
    }

    private void Take(TrainingContext context)
    {
        if (context.Step == lastStep) return;
        lastStep = context.Step;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var network = context.Network;
        try
        {
            using var mode = new EvaluationMode(network);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using var forward = network.ForwardWithActivations(probeBatch!);
            var probabilities = context.Options.Output == ClassOutput.Sigmoid ? forward.Logits.sigmoid() : forward.Logits.softmax(1);
            var predicted = probabilities.argmax(1).cpu().data<long>().ToArray();
            var confidence = probabilities.max(1).values.cpu().data<float>().ToArray();
            var classes = probes.Select(p => (long)p.Label).Concat(predicted).Distinct().ToArray();
            // One map per class present among the probes, then each probe picks its true and predicted one.
            var maps = ClassMapMethod.NormalisePerImage(network.Head.ClassMaps(forward.Activations, classes).relu().flatten(0, 1))
                .view(probes.Count, classes.Length, forward.Activations.shape[2], forward.Activations.shape[3]);
            var (h, w) = ((int)maps.shape[2], (int)maps.shape[3]);
            var values = maps.cpu().data<float>().ToArray();
            float[] MapOf(int probe, long cls)
            {
                var c = Array.IndexOf(classes, cls);
                return values.AsSpan((probe * classes.Length + c) * h * w, h * w).ToArray();
            }
            for (var i = 0; i < probes.Count; i++)
                queue.Writer.TryWrite(new Work(context.Step, i, probes[i].Label, (int)predicted[i], confidence[i],
                    MapOf(i, probes[i].Label), MapOf(i, predicted[i]), w, h));
        }
        finally
        {
            Interlocked.Add(ref trainingThreadTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
        }
    }

    private async Task WriteAsync(TrainingContext context)
    {
        await foreach (var work in queue.Reader.ReadAllAsync())
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var probe = probes[work.Probe];
            string Render(float[] map, bool predicted)
            {
                var name = SnapshotFile(work.Step, work.Probe, predicted);
                using var image = ClassMapOverlay.RenderTransparent(new HeatMap(map, work.Width, work.Height), colourMap, HeatMapAlpha.FromValue, 1f, probe.Width, probe.Height);
                RunFolder.WriteAtomically(Path.Combine(context.Run.Paths.SnapshotsFolder, name), ClassMapOverlay.EncodePng(image));
                return name;
            }
            var trueFile = Render(work.TrueMap, predicted: false);
            var predictedFile = work.Predicted == work.Label ? trueFile : Render(work.PredictedMap, predicted: true);
            var snapshot = new SnapshotTaken(context.Run.RunId, work.Step, DateTimeOffset.UtcNow, work.Probe, probe.Path,
                work.Label, work.Predicted, work.Confidence, trueFile, predictedFile);
            context.Run.AppendSnapshot(snapshot);
            context.Publish(snapshot);
            Interlocked.Add(ref backgroundTicks, System.Diagnostics.Stopwatch.GetElapsedTime(started).Ticks);
        }
    }

    public void Dispose() => probeBatch?.Dispose();

    private sealed record Work(long Step, int Probe, int Label, int Predicted, float Confidence, float[] TrueMap, float[] PredictedMap, int Width, int Height);
}
