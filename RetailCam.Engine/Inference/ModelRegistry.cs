using RetailCam.Engine.Layout;
using RetailCam.Engine.Models.Storage;

namespace RetailCam.Engine.Inference;

/// <summary>A model a user can pick: where it lives and what it knows.</summary>
public sealed record ModelInfo(string Id, string Folder, string Backbone, int InputSize, IReadOnlyList<string> Categories,
    double? ValidationAccuracy, DateTimeOffset Created, string Source);

/// <summary>
/// The models under the data folder: the best model of every run (runs/ID/model), the model of each
/// of its epochs (runs/ID/epochs/epoch-NNN, for comparisons across a run) and any model folder placed in models/. Read from disk on each call, so a run that saves a better model shows up at once.
/// </summary>
public sealed class ModelRegistry(DataRootLayout layout)
{
    public IReadOnlyList<ModelInfo> List()
    {
        var found = new List<ModelInfo>();
        foreach (var runId in layout.RunIds())
        {
            var run = layout.Run(runId);
            TryAdd(found, run.ModelFolder, $"run:{runId}", "run");
            if (Directory.Exists(run.EpochModelsFolder))
                foreach (var epoch in Directory.EnumerateDirectories(run.EpochModelsFolder).Order(StringComparer.Ordinal))
                    TryAdd(found, epoch, $"run:{runId}@{Path.GetFileName(epoch)}", "checkpoint");
        }
        foreach (var name in layout.PlacedModelNames())
            TryAdd(found, layout.PlacedModelFolder(name), $"model:{name}", "folder");
        return found.OrderByDescending(m => m.Created).ToList();
    }

    public ModelInfo? Find(string id) => List().FirstOrDefault(m => m.Id == id);

    /// <summary>The model to serve when the user has not chosen: the newest best model of a run or placed folder (epoch checkpoints only when nothing else exists).</summary>
    public ModelInfo? Default()
    {
        var all = List();
        return all.FirstOrDefault(m => m.Source != "checkpoint") ?? all.FirstOrDefault();
    }

    private static void TryAdd(List<ModelInfo> found, string folder, string id, string source)
    {
        if (!File.Exists(Path.Combine(folder, ModelFolder.ManifestFileName))) return;
        try
        {
            var manifest = ModelFolder.ReadManifest(folder);
            double? accuracy = manifest.Metrics.TryGetPropertyValue("validationAccuracy", out var node) && node is not null ? node.GetValue<double>() : null;
            found.Add(new ModelInfo(id, folder, manifest.Backbone.ToString().ToLowerInvariant(), manifest.InputSize, manifest.Categories, accuracy, manifest.CreatedUtc, source));
        }
        catch (ModelLoadException)
        {
            // A model being written or damaged is not offered; loading it would fail with the reason.
        }
    }
}
