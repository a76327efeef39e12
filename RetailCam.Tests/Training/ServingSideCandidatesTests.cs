using RetailCam.Engine.Training;

namespace RetailCam.Tests.Training;

public class ServingSideCandidatesTests
{
    [Fact]
    public void Sides_tried_reach_three_times_the_training_side_on_a_16_pixel_grid()
    {
        Assert.Equal([160, 240, 320, 400, 448], ServingTuning.Candidates(160));
        Assert.Equal([64, 96, 128, 160, 192], ServingTuning.Candidates(64));
    }

    [Fact]
    public void Scenes_trained_at_a_larger_side_add_multiples_of_that_side()
    {
        Assert.Equal([64, 96, 128, 160, 192, 256, 320, 384], ServingTuning.Candidates(64, 128));
        // A scene side at or below the training side changes nothing.
        Assert.Equal(ServingTuning.Candidates(160), ServingTuning.Candidates(160, 128));
        Assert.Equal(ServingTuning.Candidates(160), ServingTuning.Candidates(160, 0));
    }

    [Theory]
    [InlineData(3, 24)]
    [InlineData(12, 24)]
    [InlineData(30, 60)]
    [InlineData(48, 96)]
    [InlineData(1000, 96)]
    public void Scenes_for_tuning_grow_with_the_validation_photos_they_are_made_of(int photos, int scenes) =>
        Assert.Equal(scenes, ServingTuning.SceneCountFor(photos));
}
