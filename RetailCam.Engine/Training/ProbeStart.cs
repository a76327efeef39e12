using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Models;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
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
        var decoder = new ImageFileDecoder();
        var rows = new List<float[]>();
        var labels = new List<int>();
        using var mode = new EvaluationMode(network);
        using var noGrad = no_grad();
        foreach (var chunk in entries.Chunk(32))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var photos = new List<Image<Rgb24>>();
            try
            {
                foreach (var entry in chunk)
                {
                    try
                    {
                        photos.Add(decoder.Decode(entry.FullPath));
                        labels.Add(entry.ClassIndex);
                    }
                    catch (ImageDecodeException)
                    {
                        // The loader reports unreadable files; the probe does without them.
                    }
                }
                if (photos.Count == 0) continue;
                using var scope = NewDisposeScope();
                var rgb = ImageTensors.ToBatch(photos, size, size, FitMode.CentreCrop, device);
                var features = network.Backbone.call(network.Normalization.call(rgb)).mean([2, 3]).to_type(ScalarType.Float32).cpu();
                var width = (int)features.shape[1];
                var values = features.data<float>().ToArray();
                for (var i = 0; i < photos.Count; i++) rows.Add(values.AsSpan(i * width, width).ToArray());
            }
            finally
            {
                foreach (var photo in photos) photo.Dispose();
            }
        }
        var x = new float[rows.Count, rows.Count == 0 ? 0 : rows[0].Length];
        for (var i = 0; i < rows.Count; i++)
            for (var j = 0; j < rows[i].Length; j++) x[i, j] = rows[i][j];
        return (x, labels.ToArray());
    }
}
