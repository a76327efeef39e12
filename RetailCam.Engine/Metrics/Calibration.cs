namespace RetailCam.Engine.Metrics;

/// <summary>
/// How far to trust a model's probabilities: temperature scaling (Guo et al. 2017, "On Calibration
/// of Modern Neural Networks"), expected calibration error, and the area under the ROC curve of a
/// score that should rank one set of photos above another. Plain arrays in, numbers out.
/// </summary>
public static class Calibration
{
    public const int DefaultBins = 15;

    /// <summary>
    /// The temperature T that minimises the negative log-likelihood of the true labels under
    /// logits / T: softmax cross-entropy, or with <paramref name="sigmoid"/> binary cross-entropy
    /// against one-hot targets. Golden-section search over log T in [1/20, 20]; the loss is
    /// unimodal in T for both.
    /// </summary>
    /// <param name="logits">Row-major [N, C].</param>
    public static double FitTemperature(ReadOnlySpan<float> logits, IReadOnlyList<int> labels, int classes, bool sigmoid)
    {
        if (labels.Count == 0) return 1;
        var data = logits.ToArray();
        double Loss(double logT) => NegativeLogLikelihood(data, labels, classes, Math.Exp(logT), sigmoid);
        double lo = Math.Log(0.05), hi = Math.Log(20);
        var ratio = (Math.Sqrt(5) - 1) / 2;
        double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo);
        double fa = Loss(a), fb = Loss(b);
        for (var i = 0; i < 60; i++)
        {
            if (fa < fb)
            {
                (hi, b, fb) = (b, a, fa);
                a = hi - ratio * (hi - lo);
                fa = Loss(a);
            }
            else
            {
                (lo, a, fa) = (a, b, fb);
                b = lo + ratio * (hi - lo);
                fb = Loss(b);
            }
        }
        return Math.Exp((lo + hi) / 2);
    }

    /// <summary>Mean negative log-likelihood per photo of the true labels under logits / T.</summary>
    public static double NegativeLogLikelihood(ReadOnlySpan<float> logits, IReadOnlyList<int> labels, int classes, double temperature, bool sigmoid)
    {
        double total = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            var row = logits.Slice(i * classes, classes);
            if (sigmoid)
            {
                for (var c = 0; c < classes; c++)
                {
                    var z = row[c] / temperature;
                    // log(1 + e^-|z|) + max(z, 0) − z·y: the stable form of binary cross-entropy.
                    total += Math.Log(1 + Math.Exp(-Math.Abs(z))) + Math.Max(z, 0) - (c == labels[i] ? z : 0);
                }
            }
            else
            {
                double max = double.NegativeInfinity;
                for (var c = 0; c < classes; c++) max = Math.Max(max, row[c] / temperature);
                double sum = 0;
                for (var c = 0; c < classes; c++) sum += Math.Exp(row[c] / temperature - max);
                total += max + Math.Log(sum) - row[labels[i]] / temperature;
            }
        }
        return total / labels.Count;
    }

    /// <summary>Probabilities of logits / T, row-major [N, C]: sigmoid per class, or softmax per row.</summary>
    public static float[] Probabilities(ReadOnlySpan<float> logits, int classes, double temperature, bool sigmoid)
    {
        var result = new float[logits.Length];
        for (var i = 0; i < logits.Length / classes; i++)
        {
            var row = logits.Slice(i * classes, classes);
            if (sigmoid)
            {
                for (var c = 0; c < classes; c++) result[i * classes + c] = (float)(1 / (1 + Math.Exp(-row[c] / temperature)));
                continue;
            }
            double max = double.NegativeInfinity, sum = 0;
            for (var c = 0; c < classes; c++) max = Math.Max(max, row[c] / temperature);
            for (var c = 0; c < classes; c++) sum += Math.Exp(row[c] / temperature - max);
            for (var c = 0; c < classes; c++) result[i * classes + c] = (float)(Math.Exp(row[c] / temperature - max) / sum);
        }
        return result;
    }

    /// <summary>
    /// Expected calibration error of the top-1 answers: photos binned by confidence into equal-width
    /// bins, the gap between mean confidence and accuracy per bin, weighted by the bin's share.
    /// </summary>
    public static double ExpectedCalibrationError(IReadOnlyList<double> confidence, IReadOnlyList<bool> correct, int bins = DefaultBins)
    {
        if (confidence.Count != correct.Count) throw new ArgumentException("One correctness per confidence.");
        if (confidence.Count == 0) return 0;
        var sumConfidence = new double[bins];
        var sumCorrect = new double[bins];
        var count = new int[bins];
        for (var i = 0; i < confidence.Count; i++)
        {
            var bin = Math.Clamp((int)(confidence[i] * bins), 0, bins - 1);
            sumConfidence[bin] += confidence[i];
            sumCorrect[bin] += correct[i] ? 1 : 0;
            count[bin]++;
        }
        double ece = 0;
        for (var b = 0; b < bins; b++)
            if (count[b] > 0) ece += Math.Abs(sumConfidence[b] - sumCorrect[b]) / confidence.Count;
        return ece;
    }

    /// <summary>
    /// Area under the ROC curve: the chance that a random <paramref name="positive"/> scores above a
    /// random <paramref name="negative"/>, ties counting half (the Mann–Whitney statistic).
    /// </summary>
    public static double Auroc(IReadOnlyList<double> positive, IReadOnlyList<double> negative)
    {
        if (positive.Count == 0 || negative.Count == 0) throw new ArgumentException("Both sets need at least one score.");
        var all = positive.Select(s => (Score: s, Positive: true)).Concat(negative.Select(s => (Score: s, Positive: false)))
            .OrderBy(p => p.Score).ToArray();
        double rankSum = 0;
        for (var i = 0; i < all.Length;)
        {
            var j = i;
            while (j < all.Length && all[j].Score == all[i].Score) j++;
            var meanRank = (i + 1 + j) / 2.0; // ranks i+1..j share their mean
            for (var k = i; k < j; k++) if (all[k].Positive) rankSum += meanRank;
            i = j;
        }
        var n1 = (double)positive.Count;
        return (rankSum - n1 * (n1 + 1) / 2) / (n1 * negative.Count);
    }
}
