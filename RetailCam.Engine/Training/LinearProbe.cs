using System.Diagnostics;
using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Models.Import;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RetailCam.Engine.Training;

/// <summary>What the linear probe scored on a catalogue's splits, and the regularisation validation chose.</summary>
public sealed record LinearProbeReport(double TestAccuracy, double ValidationAccuracy, double L2, int TrainImages, int ValidationImages, int TestImages,
    int Unreadable, double Seconds);

/// <summary>
/// The baseline every run is held against on small data: the frozen pretrained ImageNet ResNet18's 512-d
/// features (224², its own preprocessing) and a multinomial logistic regression on them, standardised and
/// L2-regularised, the strength chosen on the validation split and the score taken on the test split —
/// the same stable splits the trainer and <c>eval</c> use. The classic ML.NET / scikit-learn recipe.
/// </summary>
public static class LinearProbe
{
    public const int FeatureSide = 224;

    /// <summary>L2 strengths tried (on the mean cross-entropy), as scikit-learn's C = 1 … 0.01 on a few hundred photos.</summary>
    public static IReadOnlyList<double> L2Grid { get; } = [1e-4, 1e-3, 1e-2, 1e-1];

    /// <summary>Training photos per category at most, so a 56,000-photo catalogue is probed in minutes; taken in path order.</summary>
    public const int DefaultMaxTrainPerCategory = 300;

    public static LinearProbeReport Run(string folder, PretrainedResNet18 pretrained, ImageFileDecoder decoder, int maxTrainPerCategory = DefaultMaxTrainPerCategory,
        Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTrainPerCategory, 1);
        var clock = Stopwatch.StartNew();
        var catalogue = ImageCatalogue.Scan(folder, decoder, cancellationToken: cancellationToken);
        var train = catalogue.InSplit(DatasetSplit.Train).GroupBy(e => e.ClassIndex)
            .SelectMany(g => g.OrderBy(e => e.RelativePath, StringComparer.Ordinal).Take(maxTrainPerCategory)).ToList();
        var validation = catalogue.InSplit(DatasetSplit.Validation);
        var test = catalogue.InSplit(DatasetSplit.Test);
        if (train.Count == 0 || validation.Count == 0 || test.Count == 0)
            throw new InvalidOperationException($"'{folder}' has too few photos for a probe: {train.Count} training, {validation.Count} validation, {test.Count} test.");

        var total = train.Count + validation.Count + test.Count;
        var done = 0;
        void Advance(int n) => progress?.Invoke(done += n, total);
        using var scope = NewDisposeScope();
        var (trainX, trainY, unreadableTrain) = Features(pretrained, decoder, train, Advance, cancellationToken);
        var (validationX, validationY, unreadableValidation) = Features(pretrained, decoder, validation, Advance, cancellationToken);
        var (testX, testY, unreadableTest) = Features(pretrained, decoder, test, Advance, cancellationToken);

        var classes = catalogue.Categories.Count;
        var fits = L2Grid.Select(l2 => (L2: l2, Classifier: Fit(trainX, trainY, classes, l2))).ToList();
        // The strongest regularisation among the best on validation: the simplest model that does as well.
        var chosen = fits.Select(f => (f.L2, f.Classifier, Accuracy: f.Classifier.Accuracy(validationX, validationY)))
            .OrderByDescending(f => f.Accuracy).ThenByDescending(f => f.L2).First();
        return new LinearProbeReport(chosen.Classifier.Accuracy(testX, testY), chosen.Accuracy, chosen.L2, trainY.Length, validationY.Length, testY.Length,
            unreadableTrain + unreadableValidation + unreadableTest, Math.Round(clock.Elapsed.TotalSeconds, 2));
    }

    /// <summary>
    /// Standardised logistic regression on features [N,D] with labels in 0…classes−1, by full-batch Adam
    /// from zero weights (deterministic): multinomial, or with <paramref name="sigmoid"/> one-vs-rest
    /// (binary cross-entropy against one-hot targets), as a sigmoid head is trained.
    /// </summary>
    public static LinearClassifier Fit(float[,] features, int[] labels, int classes, double l2, int steps = 400, bool sigmoid = false)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(features.GetLength(0), labels.Length);
        using var scope = NewDisposeScope();
        var x = tensor(features);
        var mean = x.mean([0], keepdim: true);
        var std = x.std(0, keepdim: true).clamp_min(1e-6);
        var z = (x - mean) / std;
        var y = tensor(labels.Select(l => (long)l).ToArray());
        var weights = new TorchSharp.Modules.Parameter(zeros(x.shape[1], classes));
        var bias = new TorchSharp.Modules.Parameter(zeros(classes));
        using var optimizer = optim.Adam([weights, bias], lr: 0.05);
        for (var step = 0; step < steps; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var logits = z.matmul(weights) + bias;
            var fit = sigmoid
                ? nn.functional.binary_cross_entropy_with_logits(logits, nn.functional.one_hot(y, classes).to_type(ScalarType.Float32), reduction: nn.Reduction.Sum) / y.shape[0]
                : nn.functional.cross_entropy(logits, y);
            var loss = fit + l2 * weights.pow(2).sum();
            loss.backward();
            optimizer.step();
        }
        return new LinearClassifier(Values(mean), Values(std), Values(weights.detach()), Values(bias.detach()), (int)x.shape[1], classes);
    }

    private static float[] Values(Tensor t) => t.contiguous().cpu().data<float>().ToArray();

    private static (float[,] X, int[] Y, int Unreadable) Features(PretrainedResNet18 pretrained, ImageFileDecoder decoder, IReadOnlyList<CatalogueEntry> entries,
        Action<int> advance, CancellationToken cancellationToken)
    {
        pretrained.Features.eval();
        return FeatureRows(entries, decoder, photos =>
        {
            using var noGradients = inference_mode();
            var rgb = ImageTensors.ToBatch(photos, FeatureSide, FeatureSide, FitMode.Stretch, pretrained.Device);
            return pretrained.Features.call(pretrained.Normalization.call(rgb)).flatten(1);
        }, advance, cancellationToken);
    }

    /// <summary>
    /// Feature vectors [N,D] and labels of catalogue photos, 16 at a time, one dispose scope per batch;
    /// unreadable photos are counted and left out. <paramref name="featuresOf"/> maps decoded photos to [B,D].
    /// </summary>
    public static (float[,] X, int[] Y, int Unreadable) FeatureRows(IReadOnlyList<CatalogueEntry> entries, ImageFileDecoder decoder,
        Func<IReadOnlyList<Image<Rgb24>>, Tensor> featuresOf, Action<int>? advance, CancellationToken cancellationToken)
    {
        const int batchSize = 16;
        var rows = new List<float[]>();
        var labels = new List<int>();
        var unreadable = 0;
        foreach (var chunk in entries.Chunk(batchSize))
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
                        unreadable++;
                    }
                }
                if (photos.Count > 0)
                {
                    using var scope = NewDisposeScope();
                    var features = featuresOf(photos).to_type(ScalarType.Float32).cpu();
                    var width = (int)features.shape[1];
                    var values = features.data<float>().ToArray();
                    for (var i = 0; i < photos.Count; i++) rows.Add(values.AsSpan(i * width, width).ToArray());
                }
            }
            finally
            {
                foreach (var photo in photos) photo.Dispose();
            }
            advance?.Invoke(chunk.Length);
        }
        var x = new float[rows.Count, rows.Count == 0 ? 0 : rows[0].Length];
        for (var i = 0; i < rows.Count; i++)
            for (var j = 0; j < rows[i].Length; j++) x[i, j] = rows[i][j];
        return (x, labels.ToArray(), unreadable);
    }
}

/// <summary>A fitted probe: standardisation, weights [D,C] and biases [C], applied without torch.</summary>
public sealed record LinearClassifier(float[] Mean, float[] Std, float[] Weights, float[] Bias, int Dimensions, int Classes)
{
    public int Predict(ReadOnlySpan<float> features)
    {
        var best = 0;
        var bestScore = double.NegativeInfinity;
        for (var c = 0; c < Classes; c++)
        {
            double score = Bias[c];
            for (var d = 0; d < Dimensions; d++) score += (features[d] - Mean[d]) / Std[d] * Weights[d * Classes + c];
            if (score > bestScore) (best, bestScore) = (c, score);
        }
        return best;
    }

    public double Accuracy(float[,] features, int[] labels)
    {
        if (labels.Length == 0) return 0;
        var row = new float[Dimensions];
        var correct = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            for (var d = 0; d < Dimensions; d++) row[d] = features[i, d];
            if (Predict(row) == labels[i]) correct++;
        }
        return (double)correct / labels.Length;
    }

    /// <summary>
    /// The classifier as one linear layer on the raw features, standardisation folded in: weights
    /// [C,D] (w/σ) and biases [C] (b − Σ w·μ/σ), the shape of a CAM head's classifier.
    /// </summary>
    public (float[] Weights, float[] Bias) Folded()
    {
        var weights = new float[Classes * Dimensions];
        var bias = new float[Classes];
        for (var c = 0; c < Classes; c++)
        {
            double b = Bias[c];
            for (var d = 0; d < Dimensions; d++)
            {
                var w = Weights[d * Classes + c] / Std[d];
                weights[c * Dimensions + d] = w;
                b -= w * Mean[d];
            }
            bias[c] = (float)b;
        }
        return (weights, bias);
    }

    /// <summary>Sum of squared weights: how far the regularisation let the classifier go.</summary>
    public double WeightNorm => Weights.Sum(w => (double)w * w);
}
