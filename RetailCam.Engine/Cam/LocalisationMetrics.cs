using RetailCam.Engine.Imaging;
namespace RetailCam.Engine.Cam;

/// <summary>One class map to score against the ground-truth boxes of that class in that image.</summary>
public sealed record LocalisationSample(float[] Map, int Width, int Height, IReadOnlyList<PixelBox> TruthBoxes);

public sealed record LocalisationScore(double MaxBoxAcc, double BestThreshold, double MeanIoU, int Samples);

/// <summary>
/// MaxBoxAcc as in Choe et al., "Evaluating Weakly Supervised Object Localization Methods Right",
/// CVPR 2020: for each threshold τ the box of the largest component of (map ≥ τ·max) is correct when
/// its IoU with the best-matching true box is ≥ 0.5; MaxBoxAcc is the best accuracy over τ.
/// Mean IoU is reported at that best threshold (ties broken by the higher mean IoU).
/// </summary>
public static class LocalisationMetrics
{
    public const double IoUThreshold = 0.5;

    public static double[] DefaultThresholds { get; } = Enumerable.Range(1, 19).Select(i => i * 0.05).ToArray();

    public static LocalisationScore Score(IReadOnlyList<LocalisationSample> samples, IReadOnlyList<double>? thresholds = null)
    {
        if (samples.Count == 0) return new LocalisationScore(0, Localisation.DefaultThresholdFraction, 0, 0);
        thresholds ??= DefaultThresholds;
        var best = (Accuracy: -1.0, Threshold: 0.0, MeanIoU: 0.0);
        foreach (var threshold in thresholds)
        {
            int correct = 0;
            double iouSum = 0;
            foreach (var sample in samples)
            {
                var box = Localisation.LargestBox(sample.Map, sample.Width, sample.Height, threshold);
                var iou = box is { } b && sample.TruthBoxes.Count > 0 ? sample.TruthBoxes.Max(t => b.IoU(t)) : 0;
                iouSum += iou;
                if (iou >= IoUThreshold) correct++;
            }
            var accuracy = (double)correct / samples.Count;
            var meanIoU = iouSum / samples.Count;
            // Among thresholds of equal accuracy, report the one whose boxes fit best.
            if (accuracy > best.Accuracy || (accuracy == best.Accuracy && meanIoU > best.MeanIoU))
                best = (accuracy, threshold, meanIoU);
        }
        return new LocalisationScore(best.Accuracy, best.Threshold, best.MeanIoU, samples.Count);
    }
}
