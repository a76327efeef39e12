using RetailCam.Engine.Metrics;

namespace RetailCam.Tests.Metrics;

public class CalibrationTests
{
    /// <summary>
    /// Labels drawn from softmax(z) and logits reported as 3·z: a model exactly three times too sure.
    /// Temperature scaling must find T ≈ 3 and bring the calibration error down.
    /// </summary>
    [Fact]
    public void Temperature_scaling_recovers_the_overconfidence_of_a_synthetic_model_and_lowers_the_ece()
    {
        const int n = 4000, classes = 5;
        var random = new Random(11);
        var logits = new float[n * classes];
        var labels = new int[n];
        for (var i = 0; i < n; i++)
        {
            var z = Enumerable.Range(0, classes).Select(_ => NextGaussian(random) * 1.5).ToArray();
            var max = z.Max();
            var weights = z.Select(v => Math.Exp(v - max)).ToArray();
            var u = random.NextDouble() * weights.Sum();
            var label = 0;
            for (; label < classes - 1 && (u -= weights[label]) > 0; label++) { }
            labels[i] = label;
            for (var c = 0; c < classes; c++) logits[i * classes + c] = (float)(3 * z[c]);
        }
        var t = Calibration.FitTemperature(logits, labels, classes, sigmoid: false);
        Assert.InRange(t, 2.7, 3.3);
        var before = Ece(logits, labels, classes, 1);
        var after = Ece(logits, labels, classes, t);
        Assert.True(after < before / 2, $"ECE {before:F3} before, {after:F3} after");
        Assert.True(after < 0.03, $"ECE after scaling {after:F3}");

        var sigmoidT = Calibration.FitTemperature(logits, labels, classes, sigmoid: true);
        Assert.True(Calibration.NegativeLogLikelihood(logits, labels, classes, sigmoidT, sigmoid: true)
            <= Calibration.NegativeLogLikelihood(logits, labels, classes, 1, sigmoid: true));
    }

    [Fact]
    public void Ece_of_a_perfectly_calibrated_and_of_a_wrong_sure_model()
    {
        Assert.Equal(0, Calibration.ExpectedCalibrationError([0.75, 0.75, 0.75, 0.75], [true, true, true, false]), 6);
        Assert.Equal(0.9, Calibration.ExpectedCalibrationError([0.9, 0.9], [false, false]), 6);
    }

    [Fact]
    public void Auroc_counts_the_pairs_ranked_right_and_ties_as_half()
    {
        Assert.Equal(1, Calibration.Auroc([0.9, 0.8], [0.1, 0.2]));
        Assert.Equal(0, Calibration.Auroc([0.1], [0.9]));
        Assert.Equal(0.5, Calibration.Auroc([0.5, 0.5], [0.5]));
        Assert.Equal(0.75, Calibration.Auroc([0.9, 0.3], [0.5, 0.1]));
    }

    private static double Ece(float[] logits, int[] labels, int classes, double t)
    {
        var p = Calibration.Probabilities(logits, classes, t, sigmoid: false);
        var confidence = new List<double>();
        var correct = new List<bool>();
        for (var i = 0; i < labels.Length; i++)
        {
            var row = p.AsSpan(i * classes, classes).ToArray();
            var top = Array.IndexOf(row, row.Max());
            confidence.Add(row[top]);
            correct.Add(top == labels[i]);
        }
        return Calibration.ExpectedCalibrationError(confidence, correct);
    }

    private static double NextGaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
