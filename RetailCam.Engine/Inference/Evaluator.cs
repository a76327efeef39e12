using RetailCam.Engine.Cam;
using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Metrics;

namespace RetailCam.Engine.Inference;

public enum EvaluationSplit
{
    Test,
    Validation,
    All,
}

public sealed record EvaluationReport(
    int Images,
    int Failed,
    double Accuracy,
    IReadOnlyDictionary<string, double> PerClass,
    IReadOnlyList<string> Categories,
    int[][] Confusion,
    double? MaxBoxAcc,
    double? MeanIoU,
    double? BestThreshold,
    int? LocalisationSamples,
    double Seconds)
{
    /// <summary>Expected calibration error of the served (calibrated) top-1 probabilities; null for a box set.</summary>
    public double? Ece { get; init; }

    /// <summary>The same with the model's temperature undone: what calibration gained.</summary>
    public double? EceUncalibrated { get; init; }

    /// <summary>Share of the photos the model called "not one of your categories".</summary>
    public double NotInCatalogueShare { get; init; }

    /// <summary>The best category's probability per photo: the score an out-of-catalogue check ranks by.</summary>
    public IReadOnlyList<double> TopScores { get; init; } = [];
}

/// <summary>How well the top score tells catalogue photos from photos of none of its categories.</summary>
public sealed record OutOfCatalogueReport(int Photos, int Failed, double Auroc, double FlaggedShare, double InCatalogueFlaggedShare,
    IReadOnlyDictionary<string, double> FlaggedShareByKind);

/// <summary>
/// Measures a served model on a folder: classification on a catalogue split, or, where the folder
/// holds a labelled box set (boxes.csv), classification and localisation on every image of it.
/// </summary>
public sealed class Evaluator(Predictor predictor, ImageFileDecoder decoder)
{
    public async Task<EvaluationReport> EvaluateAsync(string folder, EvaluationSplit split, Action<int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        var boxes = Path.Combine(folder, BoxesCsv.FileName);
        return File.Exists(boxes)
            ? await EvaluateBoxSetAsync(folder, BoxesCsv.Read(boxes), progress, cancellationToken)
            : await EvaluateCatalogueAsync(folder, split, progress, cancellationToken);
    }

    private async Task<EvaluationReport> EvaluateCatalogueAsync(string folder, EvaluationSplit split, Action<int, int>? progress, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        var categories = predictor.Manifest?.Categories ?? throw new InvalidOperationException("No model is loaded.");
        var catalogue = ImageCatalogue.Scan(folder, decoder, cancellationToken: cancellationToken);
        var classOf = ClassIndexLookup(categories, catalogue.Categories, folder);
        var entries = split switch
        {
            EvaluationSplit.Test => catalogue.InSplit(DatasetSplit.Test),
            EvaluationSplit.Validation => catalogue.InSplit(DatasetSplit.Validation),
            _ => catalogue.Entries,
        };
        var truthOf = entries.ToDictionary(e => e.FullPath, e => classOf[e.Category]);
        var confusion = new ConfusionMatrix(categories.Count);
        var manifest = predictor.Manifest!;
        var (confidence, uncalibrated, correct, scores) = (new List<double>(), new List<double>(), new List<bool>(), new List<double>());
        int done = 0, failed = 0, flagged = 0;
        await foreach (var outcome in new FileCategoriser(predictor, decoder).CategoriseAsync(entries.Select(e => e.FullPath).ToList(), cancellationToken: cancellationToken))
        {
            done++;
            if (outcome.Prediction is { } p)
            {
                var predicted = IndexOf(categories, p.Top[0].Category);
                confusion.Add(truthOf[outcome.Path], predicted);
                confidence.Add(p.Top[0].Probability);
                correct.Add(predicted == truthOf[outcome.Path]);
                uncalibrated.Add(Uncalibrated(p.Probabilities, predicted, manifest));
                scores.Add(p.Top[0].Probability);
                if (p.NotInCatalogue) flagged++;
            }
            else failed++;
            progress?.Invoke(done, entries.Count);
        }
        return Report(categories, confusion, done, failed, null, started) with
        {
            Ece = Calibration.ExpectedCalibrationError(confidence, correct),
            EceUncalibrated = Calibration.ExpectedCalibrationError(uncalibrated, correct),
            NotInCatalogueShare = confidence.Count == 0 ? 0 : (double)flagged / confidence.Count,
            TopScores = scores,
        };
    }

    /// <summary>
    /// Scores every photo under <paramref name="folder"/> (none of which is of a catalogue category;
    /// sub-folders name kinds: noise, blank, …) against <paramref name="inCatalogue"/>, the report of
    /// the model's own test photos: the AUROC of the top score, and how many of each are flagged.
    /// </summary>
    public async Task<OutOfCatalogueReport> EvaluateOutOfCatalogueAsync(string folder, EvaluationReport inCatalogue, CancellationToken cancellationToken = default)
    {
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => ImageFileDecoder.ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new InvalidOperationException($"'{folder}' holds no photos.");
        var scores = new List<double>();
        var flaggedByKind = new Dictionary<string, (int Flagged, int Count)>(StringComparer.Ordinal);
        int failed = 0, flagged = 0;
        await foreach (var outcome in new FileCategoriser(predictor, decoder).CategoriseAsync(files, cancellationToken: cancellationToken))
        {
            if (outcome.Prediction is not { } p) { failed++; continue; }
            scores.Add(p.Top[0].Probability);
            var kind = Path.GetRelativePath(folder, outcome.Path).Split(Path.DirectorySeparatorChar) is { Length: > 1 } parts ? parts[0] : "";
            var (f, n) = flaggedByKind.GetValueOrDefault(kind);
            flaggedByKind[kind] = (f + (p.NotInCatalogue ? 1 : 0), n + 1);
            if (p.NotInCatalogue) flagged++;
        }
        if (scores.Count == 0 || inCatalogue.TopScores.Count == 0)
            throw new InvalidOperationException("Both the catalogue's test photos and the out-of-catalogue photos need readable photos.");
        return new OutOfCatalogueReport(scores.Count, failed, Calibration.Auroc(inCatalogue.TopScores, scores), (double)flagged / scores.Count,
            inCatalogue.NotInCatalogueShare, flaggedByKind.OrderBy(k => k.Key, StringComparer.Ordinal).ToDictionary(k => k.Key, k => (double)k.Value.Flagged / k.Value.Count));
    }

    /// <summary>The top class's probability with the model's temperature undone (sigmoid: logit·T; softmax: log-probabilities·T renormalised).</summary>
    private static double Uncalibrated(IReadOnlyList<double> probabilities, int top, Models.Storage.ModelManifest manifest)
    {
        var t = manifest.Temperature;
        if (manifest.Output == Models.ClassOutput.Sigmoid)
        {
            var p = Math.Clamp(probabilities[top], 1e-12, 1 - 1e-12);
            return 1 / (1 + Math.Exp(-Math.Log(p / (1 - p)) * t));
        }
        var logs = probabilities.Select(p => Math.Log(Math.Max(p, 1e-30)) * t).ToArray();
        var max = logs.Max();
        return Math.Exp(logs[top] - max) / logs.Sum(l => Math.Exp(l - max));
    }

    private async Task<EvaluationReport> EvaluateBoxSetAsync(string folder, IReadOnlyList<BoxRow> rows, Action<int, int>? progress, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        var categories = predictor.Manifest?.Categories ?? throw new InvalidOperationException("No model is loaded.");
        var unknown = rows.Select(r => CategoryTree.Normalise(r.Category)).Distinct().Where(c => !categories.Contains(c)).ToList();
        if (unknown.Count > 0)
            throw new InvalidOperationException($"boxes.csv names categories the model does not have: {string.Join(", ", unknown.Take(5))}.");
        var byFile = rows.GroupBy(r => r.File).ToList();
        var confusion = new ConfusionMatrix(categories.Count);
        var samples = new List<LocalisationSample>();
        int done = 0, failed = 0;

        var files = byFile.Select(g => Path.Combine(folder, g.Key)).ToList();
        var truths = byFile.ToDictionary(g => Path.Combine(folder, g.Key), g => g.ToList());
        var options = new Dictionary<string, PredictRequestOptions>();
        foreach (var (file, truth) in truths)
            options[file] = new PredictRequestOptions { MapClasses = truth.Select(t => IndexOf(categories, CategoryTree.Normalise(t.Category))).Distinct().ToList() };

        await foreach (var outcome in new FileCategoriser(predictor, decoder).CategoriseAsync(files, file => options[file], cancellationToken))
        {
            done++;
            progress?.Invoke(done, files.Count);
            if (outcome.Prediction is not { } p) { failed++; continue; }
            var truth = truths[outcome.Path];
            var trueClasses = truth.Select(t => IndexOf(categories, CategoryTree.Normalise(t.Category))).Distinct().ToList();
            var predicted = IndexOf(categories, p.Top[0].Category);
            // In a scene of several articles, naming any of them is right; otherwise the row is the first article's.
            var row = trueClasses.Contains(predicted) ? predicted : trueClasses[0];
            confusion.Add(row, predicted);
            foreach (var map in p.Maps)
            {
                var upsampled = MapUpsampling.Bilinear(map.Values, map.Width, map.Height, p.Width, p.Height);
                var boxesOfClass = truth.Where(t => CategoryTree.Normalise(t.Category) == map.Category)
                    .Select(t => new PixelBox(t.XMin, t.YMin, t.XMax, t.YMax)).ToList();
                samples.Add(new LocalisationSample(upsampled, p.Width, p.Height, boxesOfClass));
            }
        }
        var score = LocalisationMetrics.Score(samples);
        return Report(categories, confusion, done, failed, score, started);
    }

    /// <summary>Per-class accuracy names only the classes the folder has images of.</summary>
    private static EvaluationReport Report(IReadOnlyList<string> categories, ConfusionMatrix confusion, int images, int failed, LocalisationScore? score, DateTime started)
    {
        var perClass = categories.Select((c, i) => (c, i)).Where(t => confusion.Support(t.i) > 0)
            .ToDictionary(t => t.c, t => confusion.ClassAccuracy(t.i)!.Value);
        return new EvaluationReport(images, failed, confusion.Accuracy, perClass, categories, confusion.ToArray(),
            score?.MaxBoxAcc, score?.MeanIoU, score?.BestThreshold, score?.Samples, (DateTime.UtcNow - started).TotalSeconds);
    }

    private static Dictionary<string, int> ClassIndexLookup(IReadOnlyList<string> modelCategories, IReadOnlyList<string> dataCategories, string folder)
    {
        var missing = dataCategories.Where(c => !modelCategories.Contains(c)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"'{folder}' has categories the model was not trained on: {string.Join(", ", missing.Take(5))}.");
        return dataCategories.ToDictionary(c => c, c => IndexOf(modelCategories, c));
    }

    private static int IndexOf(IReadOnlyList<string> categories, string category)
    {
        for (var i = 0; i < categories.Count; i++) if (categories[i] == category) return i;
        throw new InvalidOperationException($"Category '{category}' is not one of the model's.");
    }
}
