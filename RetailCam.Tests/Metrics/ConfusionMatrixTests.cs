using RetailCam.Engine.Metrics;
using RetailCam.Engine.Training;

namespace RetailCam.Tests.Metrics;

public sealed class ConfusionMatrixTests
{
    // Ten answers over three classes, counted by hand:
    //            predicted 0  1  2
    //   true 0            3  1  0
    //   true 1            0  2  2
    //   true 2            0  0  2
    private static ConfusionMatrix Counted()
    {
        var matrix = new ConfusionMatrix(3);
        matrix.Add([0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 2, 2]);
        matrix.Add(2, 2);
        matrix.Add(2, 2);
        return matrix;
    }

    [Fact]
    public void Counts_land_in_the_true_class_row_and_the_predicted_class_column()
    {
        var matrix = Counted();

        Assert.Equal([[3, 1, 0], [0, 2, 2], [0, 0, 2]], matrix.ToArray());
        Assert.Equal(1, matrix[0, 1]);
        Assert.Equal(0, matrix[1, 0]);
        Assert.Equal(10, matrix.Samples);
        Assert.Equal(7, matrix.Correct);
        Assert.Equal(0.7, matrix.Accuracy, 12);
        Assert.Equal(4, matrix.Support(1));
    }

    [Fact]
    public void Class_accuracy_is_the_share_of_a_class_found_and_null_for_a_class_without_samples()
    {
        var matrix = Counted();
        var sparse = new ConfusionMatrix(3);
        sparse.Add(0, 2);

        Assert.Equal(0.75, matrix.ClassAccuracy(0));
        Assert.Equal(0.5, matrix.ClassAccuracy(1));
        Assert.Equal(1.0, matrix.ClassAccuracy(2));
        Assert.Equal(0.0, sparse.ClassAccuracy(0));
        Assert.Null(sparse.ClassAccuracy(1));
        Assert.Equal(0, new ConfusionMatrix(2).Accuracy);
    }

    [Fact]
    public void A_copy_of_the_counts_does_not_change_with_later_answers_and_classes_out_of_range_are_refused()
    {
        var matrix = Counted();
        var copy = matrix.ToArray();
        matrix.Add(0, 0);

        Assert.Equal(3, copy[0][0]);
        Assert.Equal(4, matrix[0, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Add(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Add(0, -1));
        Assert.Throws<ArgumentException>(() => matrix.Add([0, 1], [0]));
    }

    [Fact]
    public void A_validation_result_takes_accuracy_mean_loss_and_per_class_accuracy_from_the_matrix()
    {
        var sparse = new ConfusionMatrix(3);
        sparse.Add([0, 0, 2, 2], [0, 2, 2, 2]);

        var result = ValidationResult.FromConfusion(sparse, lossSum: 2.0);

        Assert.Equal(0.75, result.Accuracy, 12);
        Assert.Equal(0.5, result.Loss, 12);
        Assert.Equal(4, result.Samples);
        // A class without validation images scores 0, so the array keeps one entry per category.
        Assert.Equal([0.5, 0.0, 1.0], result.PerClassAccuracy);
        Assert.Equal([[1, 0, 1], [0, 0, 0], [0, 0, 2]], result.Confusion);
    }
}
