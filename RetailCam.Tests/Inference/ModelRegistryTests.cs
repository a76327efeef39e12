using RetailCam.Engine.Inference;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Training;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Inference;

public sealed class ModelRegistryTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("retailcam-registry-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void A_run_offers_its_best_model_and_every_epochs_model_and_the_best_is_the_default()
    {
        var run = new RunFolder(Path.Combine(root, "runs", "r1"));
        var trainSet = new SyntheticShapes(64, 32, seed: 5);
        var validationSet = new SyntheticShapes(24, 32, seed: 6);
        var options = new TrainingOptions { Epochs = 3, BatchSize = 32, WarmupSteps = 1, HeadOnlySteps = 0, FreezeEarlyLayers = false, SnapshotEverySteps = 0, CheckpointEverySteps = 0 };
        using var network = RetailCam.Engine.Models.CamNetworkFactory.CreateNew(RetailCam.Engine.Models.BackboneKind.Vgg16, 3, 8, 0.0625);
        new Trainer(network, options, SyntheticShapes.Categories, trainSet.AsBatches(32, true), validationSet.AsBatches(24, false), run, new TrainingEventStream())
            .Run(false, CancellationToken.None);

        var models = new ModelRegistry(new DataRootLayout(root)).List();

        Assert.Equal(["run:r1@epoch-001", "run:r1@epoch-002", "run:r1@epoch-003"], models.Where(m => m.Source == "checkpoint").Select(m => m.Id).Order());
        Assert.Equal("run:r1", new ModelRegistry(new DataRootLayout(root)).Default()!.Id);
        Assert.All(models, m => Assert.Equal(SyntheticShapes.Categories, m.Categories));
    }
}
