namespace RetailCam.Engine.Metrics;

/// <summary>
/// Counts of (true class, predicted class) pairs: rows are true classes, columns predicted ones.
/// Validation during training and evaluation of a served model both score through it, so the two
/// agree on what accuracy and per-class accuracy mean. It knows nothing of tensors or folders, which
/// lets both Training/ and Inference/ use it without depending on each other.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly int[][] counts;

    public ConfusionMatrix(int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        counts = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
    }

    public int Classes => counts.Length;

    public int this[int truth, int predicted] => counts[truth][predicted];

    public void Add(int truth, int predicted)
    {
        if ((uint)truth >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(truth), truth, $"Classes run from 0 to {Classes - 1}.");
        if ((uint)predicted >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(predicted), predicted, $"Classes run from 0 to {Classes - 1}.");
        counts[truth][predicted]++;
    }

    public void Add(ReadOnlySpan<long> truth, ReadOnlySpan<long> predicted)
    {
        if (truth.Length != predicted.Length) throw new ArgumentException("Every true class needs one predicted class.", nameof(predicted));
        for (var i = 0; i < truth.Length; i++) Add((int)truth[i], (int)predicted[i]);
    }

    public int Samples => counts.Sum(row => row.Sum());

    public int Correct => counts.Select((row, i) => row[i]).Sum();

    public double Accuracy => Samples == 0 ? 0 : (double)Correct / Samples;

    /// <summary>Samples whose true class is <paramref name="truth"/>.</summary>
    public int Support(int truth) => counts[truth].Sum();

    /// <summary>Share of a class's samples predicted as that class (its recall); null when the class has none.</summary>
    public double? ClassAccuracy(int truth) => Support(truth) == 0 ? null : (double)counts[truth][truth] / Support(truth);

    /// <summary>A copy of the counts, row per true class: the shape stored in metrics.jsonl and reports.</summary>
    public int[][] ToArray() => counts.Select(row => row.ToArray()).ToArray();
}
