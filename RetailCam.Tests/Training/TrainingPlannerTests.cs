using RetailCam.Engine.Data;
using RetailCam.Engine.Models;
using RetailCam.Engine.Training;
using RetailCam.Tests.Data;
using RetailCam.Tests.Imaging;

namespace RetailCam.Tests.Training;

public class TrainingPlannerTests
{
    [Fact]
    public void A_40_photo_folder_starts_from_a_probe_learns_gently_and_composes_scenes()
    {
        var root = TestImages.TempDirectory();
        for (var i = 0; i < 40; i++) CatalogueTests.WritePng(root, $"Garments/C{i % 4}/{i:D2}.png", (byte)(i * 6), size: 40);
        var profile = DatasetProfile.Of(ImageCatalogue.Scan(root));
        Assert.Equal(40, profile.SampledImages);
        Assert.Equal(40, profile.MedianShortSide);
        Assert.Equal(4, profile.Classes);

        var plan = TrainingPlanner.Plan(profile, new TrainingSettings());
        var options = plan.Options;
        Assert.Equal(ResNet18CamTrunk.Layer3, options.Trunk);
        Assert.Equal(0.1, options.BackboneLearningRateScale);
        Assert.Equal(32, options.BatchSize);
        Assert.Equal(TrainingPlanner.MinimumPlannedSide, options.ImageSize);
        Assert.Equal(ClassOutput.Sigmoid, options.Output);
        Assert.Equal(0.5, options.SceneProbability);
        Assert.Equal(TrainingPlanner.MinimumSceneSide, options.SceneImageSize);
        Assert.Equal(TrainingPlanner.DefaultTimeBudget, options.TimeBudget);
        // One or two steps an epoch: the run is as many epochs as the step target asks, up to the cap.
        Assert.Equal(300, options.Epochs);
        var plannedSteps = options.Epochs * ((profile.TrainImages + 31) / 32);
        Assert.True(options.ProbeStart);
        Assert.True(options.FreezeBatchNormStatistics);
        Assert.Equal((int)Math.Max(10, plannedSteps * 0.02), options.HeadOnlySteps);
        Assert.Empty(options.Problems());
        Assert.All(plan.Choices, c => Assert.False(string.IsNullOrWhiteSpace(c.Reason)));
        Assert.Contains(plan.Choices, c => c.Setting == "imageSize" && c.Reason.Contains("40 px", StringComparison.Ordinal));
    }

    [Fact]
    public void A_40000_photo_folder_takes_larger_batches_fewer_epochs_fewer_scenes_and_a_fresh_head()
    {
        // The profile of a 40,000-photo catalogue of 28-px grey articles in ten categories (as
        // DatasetProfile.Of reports Fashion-MNIST's demo folder): it samples a few dozen files whatever the size.
        var profile = new DatasetProfile(TrainImages: 32_000, ValidationImages: 4_000, TrainImagesPerClass: Enumerable.Repeat(3_200, 10).ToArray(),
            MedianShortSide: 28, PackShotShare: 1, GreyscaleShare: 1, SampledImages: 40);
        var options = TrainingPlanner.Plan(profile, new TrainingSettings()).Options;
        Assert.Equal(ResNet18CamTrunk.Layer3, options.Trunk);
        Assert.Equal(1.0, options.BackboneLearningRateScale);
        Assert.Equal(64, options.BatchSize);
        Assert.Equal(64, options.ImageSize);
        Assert.Equal(6, options.Epochs); // ⌈3000 / 500⌉
        Assert.Equal(0.3, options.SceneProbability);
        // 64-px photos, scenes in batches of their own at 128 px so a product spans several map cells.
        Assert.Equal(TrainingPlanner.MinimumSceneSide, options.SceneImageSize);
        Assert.False(options.ProbeStart);
        Assert.False(options.FreezeBatchNormStatistics);
        Assert.False(options.BalanceClasses);
        Assert.True(options.HeadOnlySteps < 0.05 * 6 * 500);
    }

    [Fact]
    public void What_the_user_set_is_kept_and_said_to_be_asked_for()
    {
        var profile = new DatasetProfile(500, 60, [100, 100, 100, 100, 100], 300, 0.5, 0, 40);
        var plan = TrainingPlanner.Plan(profile, new TrainingSettings { Trunk = ResNet18CamTrunk.Layer3, Epochs = 5, TimeBudget = TimeSpan.Zero, ImageSize = 96 });
        Assert.Equal(ResNet18CamTrunk.Layer3, plan.Options.Trunk);
        Assert.Equal(5, plan.Options.Epochs);
        Assert.Null(plan.Options.TimeBudget);
        Assert.Equal(96, plan.Options.ImageSize);
        // An image side that was asked for is the scenes' side too: whoever sets it wants that cost.
        Assert.Equal(0, TrainingPlanner.Plan(profile with { MedianShortSide = 28 }, new TrainingSettings { ImageSize = 64 }).Options.SceneImageSize);
        Assert.Equal("as asked", plan.Choices.Single(c => c.Setting == "trunk").Reason);
        var auto = TrainingPlanner.Plan(profile, new TrainingSettings()).Options;
        Assert.Equal(TrainingPlanner.MaximumPlannedSideCpu, auto.ImageSize);
        // Photos at 160 px: scenes share their side and their batches.
        Assert.Equal(0, auto.SceneImageSize);
        Assert.Equal(auto.ImageSize, auto.EffectiveSceneImageSize);
        Assert.Equal(TrainingPlanner.MaximumPlannedSideAccelerated, TrainingPlanner.Plan(profile, new TrainingSettings(), accelerated: true).Options.ImageSize);
    }

    [Fact]
    public void An_uneven_catalogue_is_balanced_with_bounded_weights()
    {
        var profile = new DatasetProfile(450, 50, [300, 100, 50], 256, 1, 0, 40);
        Assert.True(TrainingPlanner.Plan(profile, new TrainingSettings()).Options.BalanceClasses);
        var weights = TrainingJob.ClassWeights(profile.TrainImagesPerClass);
        Assert.Equal([0.5f, 1.5f, 3f], weights);
        var extreme = TrainingJob.ClassWeights([1000, 10, 10, 10, 10, 10, 10, 10]);
        Assert.Equal(0.25f, extreme[0]);
        Assert.Equal(4f, extreme[1]);
    }
}
