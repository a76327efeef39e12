using System.Text.Json;
using System.Text.Json.Nodes;
using RetailCam.Engine;
using RetailCam.Engine.Training;
using RetailCam.Storage;

namespace RetailCam.Web.Components.Runs;

/// <summary>One run as a comparison needs it: its stored row, epoch metrics, and (when its folder has them) run.json and the dataset manifest.</summary>
public sealed record ComparedRun(RunRecordEntity Record, RunRecord? Folder, RetailCam.Engine.Data.DatasetManifest? Manifest = null)
{
    public string Id => Record.Id;

    /// <summary>The epoch with the best validation accuracy (the model the run kept), or null before the first epoch.</summary>
    public EpochMetricEntity? Best => Record.EpochMetrics.OrderByDescending(m => m.ValidationAccuracy).ThenBy(m => m.Epoch).FirstOrDefault();
}

/// <summary>A category's accuracy in each run (null where the run lacks the category), and the last run's difference from the first.</summary>
public sealed record PerClassRow(string Category, IReadOnlyList<double?> Accuracy)
{
    public double? Difference => Accuracy.Count >= 2 && Accuracy[0] is { } first && Accuracy[^1] is { } last ? last - first : null;
}

/// <summary>One setting across the runs, as text, and whether they differ.</summary>
public sealed record SettingRow(string Setting, IReadOnlyList<string> Values)
{
    public bool Differs => Values.Distinct(StringComparer.Ordinal).Count() > 1;
}

/// <summary>
/// Two or more runs side by side: their per-class accuracy at each run's best epoch, with the difference,
/// and every setting they trained with (the recorded plan when there is one), differing ones first.
/// </summary>
public sealed class RunComparison(IReadOnlyList<ComparedRun> runs)
{
    public IReadOnlyList<ComparedRun> Runs { get; } = runs;

    public IReadOnlyList<PerClassRow> PerClass()
    {
        var perRun = Runs.Select(r =>
        {
            var categories = r.Folder?.Categories ?? [];
            var accuracy = r.Best is { } best ? JsonSerializer.Deserialize<double[]>(best.PerClassJson) ?? [] : [];
            return categories.Select((c, i) => (c, i < accuracy.Length ? accuracy[i] : (double?)null)).ToDictionary(x => x.c, x => x.Item2, StringComparer.Ordinal);
        }).ToList();
        return perRun.SelectMany(d => d.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(c => new PerClassRow(c, perRun.Select(d => d.GetValueOrDefault(c)).ToList())).ToList();
    }

    public IReadOnlyList<SettingRow> Settings()
    {
        var flat = Runs.Select(Flatten).ToList();
        return flat.SelectMany(f => f.Keys).Distinct(StringComparer.Ordinal)
            .Select(k => new SettingRow(k, flat.Select(f => f.GetValueOrDefault(k, "—")).ToList()))
            .OrderByDescending(s => s.Differs).ThenBy(s => s.Setting, StringComparer.Ordinal).ToList();
    }

    /// <summary>How each run's photos differ from the first run's (from their manifests): what a retrain after filing adds.</summary>
    public static string DatasetChange(ComparedRun first, ComparedRun run)
    {
        if (ReferenceEquals(first, run)) return "(baseline)";
        if (first.Manifest is null || run.Manifest is null) return "—";
        var (added, removed, changed) = run.Manifest.Since(first.Manifest);
        if (added.Count + removed.Count + changed.Count == 0) return "same photos";
        static string Part(string sign, IReadOnlyList<string> files) =>
            files.Count == 0 ? "" : $"{sign}{files.Count} ({string.Join(", ", files.Take(3))}{(files.Count > 3 ? ", …" : "")}) ";
        return (Part("+", added) + Part("−", removed) + Part("~", changed)).Trim();
    }

    private Dictionary<string, string> Flatten(ComparedRun run)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["dataFolder"] = run.Record.DataFolder,
            ["backbone"] = run.Record.Backbone,
            // The manifest is written when the run starts; the row learns the version only once the run has finished.
            ["datasetVersion"] = (run.Manifest?.Version ?? run.Record.DatasetVersion) is { } v ? v[..Math.Min(12, v.Length)] : "—",
            ["datasetSinceFirst"] = DatasetChange(Runs[0], run),
            ["bestValidationAccuracy"] = run.Record.BestAccuracy?.ToString("P2", System.Globalization.CultureInfo.InvariantCulture) ?? "—",
        };
        // The plan's options are what the run trained with; older runs have only the settings asked for.
        JsonNode? options = run.Folder?.Plan is { } plan
            ? JsonSerializer.SerializeToNode(plan.Options, EngineJson.Options)
            : JsonNode.Parse(run.Record.OptionsJson)?["settings"];
        if (options is JsonObject fields)
            foreach (var (key, value) in fields)
                values[key] = value?.ToJsonString(EngineJson.Options).Trim('"') ?? "none";
        return values;
    }
}
