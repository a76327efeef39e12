using RetailCam.Engine.Inference;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RetailCam.Tests.Inference;

/// <summary>What the manifest's serving fields (chosen after training) make the predictor do.</summary>
public sealed class ServingRuleTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"retailcam-serving-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Photos_are_served_at_their_own_side_between_the_training_side_and_the_serving_side()
    {
        var manifest = ModelManifest.FromJson(File.ReadAllText(Path.Combine(ModelFolder.Resolve(TinyModels.Save(Path.Combine(folder, "m"), 1, inputSize: 64))!, ModelFolder.ManifestFileName)));
        Assert.Null(manifest.ServeInputSize);
        Assert.Equal(64, manifest.ServeSideFor(500, 300));
        var served = manifest with { ServeInputSize = 224 };
        Assert.Equal(64, served.ServeSideFor(28, 28));
        Assert.Equal(160, served.ServeSideFor(300, 170));
        Assert.Equal(224, served.ServeSideFor(1000, 800));
    }

    [Fact]
    public void A_manifest_from_before_serving_settings_reads_as_a_softmax_layer3_model_at_temperature_one()
    {
        var path = Path.Combine(ModelFolder.Resolve(TinyModels.Save(Path.Combine(folder, "old"), 2))!, ModelFolder.ManifestFileName);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        foreach (var key in new[] { "trunk", "output", "serveInputSize", "temperature", "unknownThreshold" }) json.Remove(key);
        var manifest = ModelManifest.FromJson(json.ToJsonString());
        Assert.Equal((ClassOutput.Softmax, ResNet18CamTrunk.Layer3, 1.0, (double?)null), (manifest.Output, manifest.Trunk, manifest.Temperature, manifest.UnknownThreshold));
        Assert.Empty(manifest.Problems());
        Assert.NotEmpty((manifest with { Temperature = 0 }).Problems());
    }

    [Fact]
    public async Task The_filing_path_stops_where_confidence_does_and_a_photo_below_the_unknown_threshold_is_not_in_the_catalogue()
    {
        var model = TinyModels.Save(Path.Combine(folder, "sig"), 3);
        var updated = ModelFolder.UpdateManifest(model, m => m with { Output = ClassOutput.Sigmoid, Temperature = 2, UnknownThreshold = 0 });
        Assert.Equal(ModelFolder.ReadManifest(model).WeightsSha256, updated.WeightsSha256);
        using var photo = new Image<Rgb24>(80, 60, new Rgb24(120, 30, 200));

        using (var everything = Predictor.ForFolder(model, new PredictorOptions { PathConfidence = 0, Precision = InferencePrecision.Float32 }, CPU))
        {
            var p = await everything.PredictAsync(photo, "photo");
            Assert.False(p.NotInCatalogue);
            Assert.Equal(p.Top[0].Category, p.FiledUnder);
            // Sigmoid scores are each in (0, 1) and need not sum to 1.
            Assert.All(p.Probabilities, v => Assert.InRange(v, 0, 1));
            Assert.All(p.Path, level => Assert.InRange(level.Probability, 0, 1));
            // The temperature applies: the reported score is sigmoid(logit / 2).
            using var loaded = ModelFolder.Load(model);
            loaded.Network.eval();
            using var noGrad = no_grad();
            using var logits = loaded.Network.call(Engine.Imaging.ImageTensors.ToBatch([photo], 64, 64, Engine.Imaging.FitMode.Stretch));
            var expected = 1 / (1 + Math.Exp(-logits[0, 0].item<float>() / 2));
            Assert.Equal(expected, p.Probabilities[0], 3);
        }
        using (var strict = Predictor.ForFolder(model, new PredictorOptions { PathConfidence = 1, Precision = InferencePrecision.Float32 }, CPU))
        {
            // Only a level summed up to certainty (several sigmoid leaves can reach 1) clears 1; a single leaf's sigmoid never does.
            var certain = await strict.PredictAsync(photo, "photo");
            Assert.Equal(certain.Path.TakeWhile(level => level.Probability >= 1).LastOrDefault()?.Category, certain.FiledUnder);
            Assert.NotEqual(certain.Top[0].Category, certain.FiledUnder);
        }

        ModelFolder.UpdateManifest(model, m => m with { UnknownThreshold = 1 });
        using var unknown = Predictor.ForFolder(model, new PredictorOptions { PathConfidence = 0, Precision = InferencePrecision.Float32 }, CPU);
        var answer = await unknown.PredictAsync(photo, "photo");
        Assert.True(answer.NotInCatalogue);
        Assert.Null(answer.FiledUnder);
    }
}
