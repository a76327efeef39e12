using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Benchmarks;

/// <summary>
/// The reference a training pipeline is held against: the same network, optimiser, loss and
/// freezing as <see cref="Trainer"/>, stepping over one batch already in memory, with nothing else
/// (no loader, augmentation, metrics, events, snapshots).
/// </summary>
public sealed class BareTrainingLoop : IDisposable
{
    private readonly CamNetwork network;
    private readonly TrainingOptions options;
    private readonly optim.Optimizer optimizer;

    /// <summary>Takes ownership of <paramref name="network"/> and moves it to <paramref name="device"/>, as <see cref="Trainer"/> does.</summary>
    public BareTrainingLoop(CamNetwork network, TrainingOptions options, int classes, Device device)
    {
        this.network = network;
        this.options = options;
        // Moved before the optimiser is built, so it holds the parameters that will train.
        network.to(device);
        if (options.FreezeEarlyLayers) network.Backbone.FreezeEarlyLayers();
        var trainable = network.parameters().Where(p => p.requires_grad).ToList();
        optimizer = optim.AdamW(trainable, options.LearningRate, weight_decay: options.WeightDecay);
        // Drawn on the CPU from a seeded CPU generator (a CUDA draw would need a CUDA generator), so the
        // batch is the same on every device, then moved once: no step pays for a copy.
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)options.Seed);
        var images = rand([options.BatchSize, 3, options.ImageSize, options.ImageSize], generator: generator) * 255f;
        var labels = randint(0, classes, [options.BatchSize], generator: generator);
        Batch = new LabelledBatch(images.to(device).DetachFromDisposeScope(), labels.to(device).DetachFromDisposeScope());
    }

    public int BatchSize => options.BatchSize;

    /// <summary>The one batch every step trains on, on the loop's device; owned by the loop.</summary>
    public LabelledBatch Batch { get; }

    /// <returns>Images trained on.</returns>
    public long Steps(int steps)
    {
        network.train();
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            var logits = network.call(Batch.Images);
            var loss = nn.functional.cross_entropy(logits, Batch.Labels, label_smoothing: options.LabelSmoothing);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            // Reading the loss waits for the step, as any real loop does.
            loss.item<float>();
        }
        return (long)steps * options.BatchSize;
    }

    public void Dispose()
    {
        Batch.Dispose();
        optimizer.Dispose();
        network.Dispose();
    }
}
