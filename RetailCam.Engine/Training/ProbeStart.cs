using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Models;
using static TorchSharp.torch;

namespace RetailCam.Engine.Training;

/// <summary>What the probe start fitted: its regularisation and how the probe alone scores on validation.</summary>
public sealed record ProbeStartResult(double L2, double ValidationAccuracy, int TrainImages, double Seconds);

/// <summary>
/// The linear-probe start of LP-FT (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features"):
/// before fine-tuning, the head is set to a logistic regression fitted on the pretrained trunk's
/// pooled features of the training photos (un-augmented, at the run's side), its L2 strength chosen
/// on validation. A random head's first gradients would otherwise reshape the pretrained features to
/// fit itself; a fitted one asks them only for what the probe cannot do.
/// </summary>
public static class ProbeStart
{
    public static ProbeStartResult Apply(CamNetwork network, IReadOnlyList<CatalogueEntry> train, IReadOnlyList<CatalogueEntry> validation, int classes,
        int imageSize, ClassOutput output, Device device, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (trainX, trainY) = PooledFeatures(network, train, imageSize, device, cancellationToken);
        var (validationX, validationY) = PooledFeatures(network, validation, imageSize, device, cancellationToken);
        if (trainY.Length == 0) throw new InvalidOperationException("No training photo could be read for the probe start.");
        var sigmoid = output == ClassOutput.Sigmoid;
        var chosen = LinearProbe.L2Grid.Select(l2 => (L2: l2, Classifier: LinearProbe.Fit(trainX, trainY, classes, l2, sigmoid: sigmoid)))
            .Select(f => (f.L2, f.Classifier, Accuracy: validationY.Length == 0 ? 0 : f.Classifier.Accuracy(validationX, validationY)))
            .OrderByDescending(f => f.Accuracy).ThenByDescending(f => f.L2).First();
        var (weights, bias) = chosen.Classifier.Folded();
        network.Head.StartFromProbe(weights, bias);
        return new ProbeStartResult(chosen.L2, chosen.Accuracy, trainY.Length, clock.Elapsed.TotalSeconds);
    }

    private static (float[,] X, int[] Y) PooledFeatures(CamNetwork network, IReadOnlyList<CatalogueEntry> entries, int size, Device device, CancellationToken cancellationToken)
    {
        using var mode = new EvaluationMode(network);
        using var noGrad = no_grad();
        var (x, y, _) = LinearProbe.FeatureRows(entries, new ImageFileDecoder(), photos =>
            network.Backbone.call(network.Normalization.call(ImageTensors.ToBatch(photos, size, size, FitMode.CentreCrop, device))).mean([2, 3]),
            advance: null, cancellationToken);
        return (x, y);
    }
}
