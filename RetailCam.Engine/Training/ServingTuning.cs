using System.Text.Json.Nodes;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Metrics;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RetailCam.Engine.Training;

/// <summary>How one largest serving side did on the validation photos and on scenes made from them.</summary>
public sealed record ServeSideScore(int Side, double Accuracy, double MaxBoxAcc, double SceneAccuracy = 0);

/// <summary>What tuning after training chose for serving, and the figures it chose by.</summary>
public sealed record ServingTuningResult(int ServeInputSize, IReadOnlyList<ServeSideScore> Sides, double Temperature,
    double EceBefore, double EceAfter, double? UnknownThreshold, int ValidationPhotos, int Scenes);

/// <summary>
/// After training, with the validation split only (the test split stays unseen), fixes how the best
/// model serves: the largest serving side (photos are served at their own side within the training
/// side and this, <see cref="ModelManifest.ServeSideFor"/>), chosen as the one whose class maps find
/// the products best in scenes composed from validation photos, among the sides that keep validation
/// accuracy within a point (or one standard error) of the best; the temperature that calibrates its probabilities; and the
/// score below which a photo is "not one of your categories" (what 95 % of validation photos clear).
/// The choices go into the model's manifest.
/// </summary>
public static class ServingTuning
{
    public const int MaxValidationPhotos = 1000;
    public const int SceneCount = 96;

    /// <summary>
    /// Scenes to compose from <paramref name="validationPhotos"/>: two per photo, 24 to 96. A few photos
    /// repeated in 96 scenes tell no more than in 24, and each scene is scored at every candidate side.
    /// </summary>
    public static int SceneCountFor(int validationPhotos) => Math.Clamp(2 * validationPhotos, 24, SceneCount);
    private static readonly double[] SideFactors = [1.0, 1.5, 2.0, 2.5, 3.0];
    public const int MaxServeSide = 448;

    /// <summary>Validation photos may lose this much accuracy at a larger side for better maps, or one standard error of the split's accuracy when that is more.</summary>
    public const double AccuracyTolerance = 0.01;

    /// <summary>Share of validation photos whose best score must clear the unknown threshold.</summary>
    public const double AnsweredShare = 0.95;

    /// <param name="sceneSide">The side the model's scenes trained at (0: the training side); the serving sides tried reach 3× it.</param>
    public static ServingTuningResult Tune(string modelFolder, IReadOnlyList<CatalogueEntry> validation, Device device, int seed,
        int sceneSide = 0, CancellationToken cancellationToken = default)
    {
        using var model = ModelFolder.Load(modelFolder, device);
        var manifest = model.Manifest;
        var decoder = new ImageFileDecoder();
        var photos = new List<(Image<Rgb24> Image, int Label)>();
        try
        {
            foreach (var entry in DatasetProfile.EvenlySpaced(validation, MaxValidationPhotos))
            {
                cancellationToken.ThrowIfCancellationRequested();
                try { photos.Add((decoder.Decode(entry.FullPath), entry.ClassIndex)); }
                catch (ImageDecodeException) { }
            }
            if (photos.Count == 0) throw new InvalidOperationException("No validation photo could be read to tune serving.");
            using var scenes = ComposeScenes(photos, manifest.InputSize, seed);

            // Each side's validation logits are kept: the chosen side's are the ones the temperature is fitted on.
            var scored = Candidates(manifest.InputSize, sceneSide)
                .Select(side => Score(model, manifest with { ServeInputSize = side }, photos, scenes, device, cancellationToken)).ToList();
            var sides = scored.Select(s => s.Score).ToList();
            var bestAccuracy = sides.Max(s => s.Accuracy);
            // A difference the validation split cannot tell from chance (one standard error) is no reason to give up better maps.
            var tolerance = Math.Max(AccuracyTolerance, Math.Sqrt(bestAccuracy * (1 - bestAccuracy) / photos.Count));
            // Scenes must stay recognised too: a side whose maps look sharp but whose scenes are misread
            // (products larger in pixels than training showed them) is no better for a user.
            var bestSceneAccuracy = sides.Max(s => s.SceneAccuracy);
            var sceneTolerance = Math.Max(AccuracyTolerance, Math.Sqrt(bestSceneAccuracy * (1 - bestSceneAccuracy) / Math.Max(1, scenes.Scenes.Count)));
            // Photos the composer could place in no scene leave nothing to judge scenes by: validation accuracy alone decides.
            var judgeScenes = scenes.Scenes.Count > 0;
            var accurate = sides.Where(s => s.Accuracy >= bestAccuracy - tolerance).ToList();
            var recognised = judgeScenes ? accurate.Where(s => s.SceneAccuracy >= bestSceneAccuracy - sceneTolerance).ToList() : accurate;
            // The side best on photos and the side best on scenes can differ by more than either tolerance (a tiny
            // validation split): then the accurate side that reads scenes best.
            if (recognised.Count == 0) recognised = accurate.OrderByDescending(s => s.SceneAccuracy).Take(1).ToList();
            var chosen = recognised.OrderByDescending(s => judgeScenes ? s.MaxBoxAcc : 0).ThenBy(s => s.Side).First();

            var logits = scored.Single(s => s.Score == chosen).Logits;
            var labels = photos.Select(p => p.Label).ToList();
            var classes = manifest.Categories.Count;
            var sigmoid = manifest.Output == ClassOutput.Sigmoid;
            var temperature = Calibration.FitTemperature(logits, labels, classes, sigmoid);
            var eceBefore = Ece(logits, labels, classes, 1, sigmoid);
            var eceAfter = Ece(logits, labels, classes, temperature, sigmoid);
            var best = TopScores(Calibration.Probabilities(logits, classes, temperature, sigmoid), classes);
            var unknown = sigmoid ? Quantile(best, 1 - AnsweredShare) : (double?)null;

            var result = new ServingTuningResult(chosen.Side, sides, temperature, eceBefore, eceAfter, unknown, photos.Count, scenes.Scenes.Count);
            ModelFolder.UpdateManifest(modelFolder, m => m with
            {
                ServeInputSize = chosen.Side,
                Temperature = temperature,
                UnknownThreshold = unknown,
                Metrics = WithServing(m.Metrics, result),
            });
            return result;
        }
        finally
        {
            foreach (var (image, _) in photos) image.Dispose();
        }
    }

    /// <summary>The training side and multiples of it up to 3×, on a 16-pixel grid, at most <see cref="MaxServeSide"/>.</summary>
    public static IReadOnlyList<int> Candidates(int trainingSide) => Candidates(trainingSide, 0);

    /// <summary>Multiples up to 3× of the training side and of the side scenes trained at (0: the training side), at least the training side.</summary>
    public static IReadOnlyList<int> Candidates(int trainingSide, int sceneSide) =>
        new[] { trainingSide, Math.Max(trainingSide, sceneSide) }.Distinct()
            .SelectMany(baseSide => SideFactors.Select(f => Math.Min(MaxServeSide, (int)Math.Round(baseSide * f / 16) * 16)))
            .Append(trainingSide).Where(s => s >= trainingSide).Distinct().Order().ToList();

    /// <summary>One side's score, and the validation logits (temperature 1) it was scored from.</summary>
    private static (ServeSideScore Score, float[] Logits) Score(LoadedModel model, ModelManifest manifest, List<(Image<Rgb24> Image, int Label)> photos, SceneSet scenes,
        Device device, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var classes = manifest.Categories.Count;
        var logits = Logits(model, manifest, photos.Select(p => p.Image).ToList(), device);
        var correct = 0;
        for (var i = 0; i < photos.Count; i++)
            if (ArgMax(logits.AsSpan(i * classes, classes)) == photos[i].Label) correct++;

        var samples = new List<LocalisationSample>();
        var scenesRead = 0;
        foreach (var group in Enumerable.Range(0, scenes.Scenes.Count).GroupBy(i => manifest.ServeSideFor(scenes.Scenes[i].Image.Width, scenes.Scenes[i].Image.Height)))
        {
            var indices = group.ToList();
            using var scope = NewDisposeScope();
            using var mode = new EvaluationMode(model.Network);
            using var noGrad = no_grad();
            var batch = ImageTensors.ToBatch(indices.Select(i => scenes.Scenes[i].Image).ToList(), group.Key, group.Key, FitMode.Stretch, device);
            using var forward = model.Network.ForwardWithActivations(batch);
            var (h, w) = ((int)forward.Activations.shape[2], (int)forward.Activations.shape[3]);
            var sceneLogits = forward.Logits.to_type(ScalarType.Float32).cpu().data<float>().ToArray();
            for (var k = 0; k < indices.Count; k++)
            {
                var scene = scenes.Scenes[indices[k]];
                var present = scene.Articles.Select(a => int.Parse(a.Category, System.Globalization.CultureInfo.InvariantCulture)).Distinct().ToArray();
                if (present.Contains(ArgMax(sceneLogits.AsSpan(k * classes, classes)))) scenesRead++;
                var maps = ClassMapMethod.NormalisePerImage(model.Network.Head.ClassMaps(forward.Activations.narrow(0, k, 1), present.Select(c => (long)c).ToArray())
                    .relu().flatten(0, 1)).cpu().data<float>().ToArray();
                for (var c = 0; c < present.Length; c++)
                {
                    var map = MapUpsampling.Bilinear(maps.AsSpan(c * h * w, h * w), w, h, scene.Image.Width, scene.Image.Height);
                    var truth = scene.Articles.Where(a => a.Category == present[c].ToString(System.Globalization.CultureInfo.InvariantCulture)).Select(a => a.Box).ToList();
                    samples.Add(new LocalisationSample(map, scene.Image.Width, scene.Image.Height, truth));
                }
            }
        }
        var side = manifest.ServeInputSize ?? manifest.InputSize;
        return (new ServeSideScore(side, (double)correct / photos.Count, LocalisationMetrics.Score(samples).MaxBoxAcc,
            (double)scenesRead / Math.Max(1, scenes.Scenes.Count)), logits);
    }

    /// <summary>Logits [N, C] of the photos, each at its serving side under <paramref name="manifest"/>, batched by side.</summary>
    private static float[] Logits(LoadedModel model, ModelManifest manifest, IReadOnlyList<Image<Rgb24>> images, Device device)
    {
        var classes = manifest.Categories.Count;
        var result = new float[images.Count * classes];
        using var mode = new EvaluationMode(model.Network);
        using var noGrad = no_grad();
        foreach (var group in Enumerable.Range(0, images.Count).GroupBy(i => manifest.ServeSideFor(images[i].Width, images[i].Height)))
        {
            foreach (var chunk in group.Chunk(32))
            {
                using var scope = NewDisposeScope();
                var batch = ImageTensors.ToBatch(chunk.Select(i => images[i]).ToList(), group.Key, group.Key, FitMode.Stretch, device);
                var logits = model.Network.call(batch).to_type(ScalarType.Float32).cpu().data<float>().ToArray();
                for (var k = 0; k < chunk.Length; k++) logits.AsSpan(k * classes, classes).CopyTo(result.AsSpan(chunk[k] * classes, classes));
            }
        }
        return result;
    }

    /// <summary>Scenes of 1–3 validation products on shop backgrounds, 224–448 px (or from the training side), composed as training composes its scenes.</summary>
    private static SceneSet ComposeScenes(List<(Image<Rgb24> Image, int Label)> photos, int trainingSide, int seed)
    {
        var random = new Random(seed);
        var articles = photos.Select(p => SceneArticle.FromPhoto(p.Label.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Image)).ToList();
        var set = new SceneSet(articles);
        var smallest = Math.Max(224, trainingSide);
        var count = SceneCountFor(photos.Count);
        for (var i = 0; i < count; i++)
        {
            var side = random.Next(smallest, Math.Max(smallest, MaxServeSide) + 1);
            var composer = new ShopSceneComposer(ShopSceneOptions.ForSide(side));
            var picks = Enumerable.Range(0, 1 + random.Next(3)).Select(_ => articles[random.Next(articles.Count)].Article).ToList();
            var scene = composer.Compose(picks, random);
            if (scene.Articles.Count > 0) set.Scenes.Add(scene);
            else scene.Dispose();
        }
        return set;
    }

    private sealed class SceneSet(List<OwnedSceneArticle> articles) : IDisposable
    {
        public List<ComposedScene> Scenes { get; } = [];

        public void Dispose()
        {
            foreach (var scene in Scenes) scene.Dispose();
            foreach (var article in articles) article.Dispose();
        }
    }

    private static double Ece(float[] logits, IReadOnlyList<int> labels, int classes, double temperature, bool sigmoid)
    {
        var probabilities = Calibration.Probabilities(logits, classes, temperature, sigmoid);
        var confidence = new List<double>();
        var correct = new List<bool>();
        for (var i = 0; i < labels.Count; i++)
        {
            var row = probabilities.AsSpan(i * classes, classes);
            var top = ArgMax(row);
            confidence.Add(row[top]);
            correct.Add(top == labels[i]);
        }
        return Calibration.ExpectedCalibrationError(confidence, correct);
    }

    private static List<double> TopScores(float[] probabilities, int classes) =>
        Enumerable.Range(0, probabilities.Length / classes).Select(i => (double)probabilities.AsSpan(i * classes, classes)[ArgMax(probabilities.AsSpan(i * classes, classes))]).ToList();

    private static double Quantile(List<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Floor(q * sorted.Length), 0, sorted.Length - 1)];
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static JsonObject WithServing(JsonObject metrics, ServingTuningResult result)
    {
        var copy = metrics.DeepClone().AsObject();
        copy["serving"] = new JsonObject
        {
            ["serveInputSize"] = result.ServeInputSize,
            ["sides"] = new JsonArray(result.Sides.Select(s => (JsonNode)new JsonObject { ["side"] = s.Side, ["validationAccuracy"] = s.Accuracy, ["sceneMaxBoxAcc"] = s.MaxBoxAcc, ["sceneAccuracy"] = s.SceneAccuracy }).ToArray()),
            ["temperature"] = result.Temperature,
            ["validationEceBefore"] = result.EceBefore,
            ["validationEceAfter"] = result.EceAfter,
            ["unknownThreshold"] = result.UnknownThreshold,
            ["validationPhotos"] = result.ValidationPhotos,
            ["scenes"] = result.Scenes,
        };
        return copy;
    }
}
