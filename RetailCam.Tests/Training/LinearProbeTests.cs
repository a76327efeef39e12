using RetailCam.Benchmarks;
using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Training;
using RetailCam.Tests.Models;

namespace RetailCam.Tests.Training;

[Collection(PretrainedResNet18Collection.Name)]
public sealed class LinearProbeTests(PretrainedResNet18Fixture pretrained) : IDisposable
{
    private readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary>Three well-separated blobs in 5 dimensions, 20 points each, offset and scaled so standardisation matters.</summary>
    private static (float[,] X, int[] Y) Blobs(int seed)
    {
        var random = new Random(seed);
        var x = new float[60, 5];
        var y = new int[60];
        for (var i = 0; i < 60; i++)
        {
            y[i] = i % 3;
            for (var d = 0; d < 5; d++)
                x[i, d] = (float)(1000 + 50 * d + (d == y[i] ? 40 : 0) + random.NextDouble() * 4);
        }
        return (x, y);
    }

    [Fact]
    public void Logistic_regression_separates_separable_classes_and_a_stronger_l2_keeps_its_weights_smaller()
    {
        var (x, y) = Blobs(1);
        var (heldOutX, heldOutY) = Blobs(2);

        var loose = LinearProbe.Fit(x, y, classes: 3, l2: 1e-4);
        var tight = LinearProbe.Fit(x, y, classes: 3, l2: 1e-1);

        Assert.Equal(1.0, loose.Accuracy(x, y));
        Assert.Equal(1.0, loose.Accuracy(heldOutX, heldOutY));
        Assert.True(tight.WeightNorm < loose.WeightNorm / 2, $"l2 1e-1 gives |W|² {tight.WeightNorm:G3}, l2 1e-4 gives {loose.WeightNorm:G3}");
    }

    [Fact]
    public void A_catalogue_is_probed_on_its_own_splits_with_frozen_pretrained_features()
    {
        var catalogue = SyntheticCatalogue.Write(Path.Combine(folder.Path, "catalogue"), classes: 3, imagesPerClass: 40, size: 64);
        var scanned = ImageCatalogue.Scan(catalogue);

        var report = LinearProbe.Run(catalogue, pretrained.Model, new ImageFileDecoder());

        Assert.Equal(scanned.InSplit(DatasetSplit.Train).Count, report.TrainImages);
        Assert.Equal(scanned.InSplit(DatasetSplit.Validation).Count, report.ValidationImages);
        Assert.Equal(scanned.InSplit(DatasetSplit.Test).Count, report.TestImages);
        Assert.Equal(0, report.Unreadable);
        Assert.Contains(report.L2, LinearProbe.L2Grid);
        // Class-coloured blocks: ImageNet features tell the three apart.
        Assert.True(report.TestAccuracy >= 0.8, $"test accuracy {report.TestAccuracy:P1}");
    }
}
