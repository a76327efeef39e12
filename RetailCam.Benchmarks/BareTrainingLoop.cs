using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
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
    private readonly Tensor images;
    private readonly Tensor labels;

    public BareTrainingLoop(CamNetwork network, TrainingOptions options, int classes)
    {
        this.network = network;
        this.options = options;
        if (options.FreezeEarlyLayers) network.Backbone.FreezeEarlyLayers();
        var trainable = network.parameters().Where(p => p.requires_grad).ToList();
        optimizer = optim.AdamW(trainable, options.LearningRate, weight_decay: options.WeightDecay);
        var generator = new Generator((ulong)options.Seed);
        images = (rand([options.BatchSize, 3, options.ImageSize, options.ImageSize], generator: generator) * 255f).DetachFromDisposeScope();
        labels = randint(0, classes, [options.BatchSize], generator: generator).DetachFromDisposeScope();
    }

    public int BatchSize => options.BatchSize;

    /// <returns>Images trained on.</returns>
    public long Steps(int steps)
    {
        network.train();
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            var logits = network.call(images);
            var loss = nn.functional.cross_entropy(logits, labels, label_smoothing: options.LabelSmoothing);
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
        images.Dispose();
        labels.Dispose();
        optimizer.Dispose();
        network.Dispose();
    }
}
