using RetailCam.Engine.Layout;
using RetailCam.Engine.Models.Storage;

namespace RetailCam.Engine.Inference;

/// <summary>A model a user can pick: where it lives and what it knows.</summary>
public sealed record ModelInfo(string Id, string Folder, string Backbone, int InputSize, IReadOnlyList<string> Categories,
    double? ValidationAccuracy, DateTimeOffset Created, string Source)
{
    /// <summary>How pickers and the home page name the model: id, backbone and validation accuracy where known.</summary>
    public string Label => Broken is not null ? $"{Id} · broken" : ValidationAccuracy is { } accuracy ? $"{Id} · {Backbone} · {accuracy:P1}" : $"{Id} · {Backbone}";

    /// <summary>Why this model cannot be served (its folder or files are damaged), or null when it can.</summary>
    public string? Broken { get; init; }
}

/// <summary>A model the predictor can load: its id, its folder, and its manifest as read now.</summary>
public sealed record ModelSource(string Id, string Folder, ModelManifest Manifest)
{
    /// <summary>Changes whenever the model is published again (new weights), so a served copy knows it is stale.</summary>
    public string Version => VersionOf(Manifest);

    public static string VersionOf(ModelManifest manifest) => $"{manifest.CreatedUtc.UtcTicks}:{manifest.WeightsSha256}";

    /// <summary>A model folder served under an id of the caller's choice (its folder name by default).</summary>
    public static ModelSource ForFolder(string folder, string? id = null) =>
        new(id ?? Path.GetFileName(Path.GetFullPath(folder).TrimEnd('/')), ModelFolder.Resolve(folder) ?? folder, ModelFolder.ReadManifest(folder));
}

/// <summary>
/// The models under the data folder: the best model of every run (runs/ID/model), the model of each
/// of its epochs (runs/ID/epochs/epoch-NNN, for comparisons across a run) and any model folder placed in models/. Read from disk on each call, so a run that saves a better model shows up at once.
/// A model whose folder or files are damaged is listed as broken, with the reason, instead of failing the
/// listing; so is one whose weights failed to load (<see cref="MarkBroken"/>) until it is published again.
/// </summary>
public sealed class ModelRegistry(DataRootLayout layout)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Version, string Reason)> loadFailures = new(StringComparer.Ordinal);

    /// <summary>Records that this version of a model failed to load; the listing shows it broken until another version is published.</summary>
    public void MarkBroken(ModelSource source, string reason) => loadFailures[source.Id] = (source.Version, reason);

    /// <summary>Removes what crashed saves left in every model folder under the data root (at start, before anything writes).</summary>
    public IReadOnlyList<string> CleanLeftovers() => Slots().SelectMany(slot => ModelFolder.CleanLeftovers(slot.Folder)).ToList();

    private IEnumerable<(string Folder, string Id, string Source)> Slots()
    {
        foreach (var runId in layout.RunIds())
        {
            var run = layout.Run(runId);
            yield return (run.ModelFolder, $"run:{runId}", "run");
            if (Directory.Exists(run.EpochModelsFolder))
                foreach (var epoch in Directory.EnumerateDirectories(run.EpochModelsFolder).Order(StringComparer.Ordinal))
                    yield return (epoch, $"run:{runId}@{Path.GetFileName(epoch)}", "checkpoint");
        }
        foreach (var name in layout.PlacedModelNames())
            yield return (layout.PlacedModelFolder(name), $"model:{name}", "folder");
    }

    public IReadOnlyList<ModelInfo> List()
    {
        var found = new List<ModelInfo>();
        foreach (var (folder, id, source) in Slots()) TryAdd(found, folder, id, source);
        return found.OrderByDescending(m => m.Created).ToList();
    }

    public ModelInfo? Find(string id) => List().FirstOrDefault(m => m.Id == id);

    /// <summary>
    /// The folder and manifest of one model by id, reading only that model's manifest (the predictor asks
    /// on every request, to notice a newer model published under the same id). Null when the id names no
    /// model; every segment is checked before it becomes part of a path.
    /// </summary>
    public ModelSource? Locate(string id)
    {
        var folder = FolderOf(id);
        if (folder is null || ModelFolder.Resolve(folder) is not { } published) return null;
        return new ModelSource(id, published, ModelFolder.ReadManifest(published));
    }

    private string? FolderOf(string id)
    {
        var colon = id.IndexOf(':');
        if (colon < 0) return null;
        var (kind, rest) = (id[..colon], id[(colon + 1)..]);
        var at = rest.IndexOf('@');
        var (name, epoch) = at < 0 ? (rest, null) : (rest[..at], rest[(at + 1)..]);
        if (!PathSegment.IsValid(name) || (epoch is not null && !PathSegment.IsValid(epoch))) return null;
        return (kind, epoch) switch
        {
            ("model", null) => layout.PlacedModelFolder(name),
            ("run", null) => layout.Run(name).ModelFolder,
            ("run", _) => PathSegment.Join(layout.Run(name).EpochModelsFolder, epoch, "epoch"),
            _ => null,
        };
    }

    /// <summary>
    /// The model to serve when the user has not chosen: the newest best model of a run or placed folder
    /// that is not broken (epoch checkpoints only when nothing else exists).
    /// </summary>
    public ModelInfo? Default(Func<ModelInfo, bool>? except = null)
    {
        var usable = List().Where(m => m.Broken is null && except?.Invoke(m) != true).ToList();
        return usable.FirstOrDefault(m => m.Source != "checkpoint") ?? usable.FirstOrDefault();
    }

    private void TryAdd(List<ModelInfo> found, string folder, string id, string source)
    {
        // A folder with neither files nor a pointer is a run that has saved no model yet: nothing to list.
        if (!File.Exists(Path.Combine(folder, ModelFolder.ManifestFileName)) && !File.Exists(Path.Combine(folder, ModelFolder.PointerFileName))) return;
        try
        {
            var manifest = ModelFolder.ReadManifest(folder);
            double? accuracy = manifest.Metrics.TryGetPropertyValue("validationAccuracy", out var node) && node is not null ? node.GetValue<double>() : null;
            var failure = loadFailures.TryGetValue(id, out var recorded) && recorded.Version == ModelSource.VersionOf(manifest) ? recorded.Reason : null;
            found.Add(new ModelInfo(id, folder, manifest.Backbone.ToString().ToLowerInvariant(), manifest.InputSize, manifest.Categories, accuracy, manifest.CreatedUtc, source)
            {
                Broken = failure,
            });
        }
        catch (ModelLoadException ex)
        {
            found.Add(new ModelInfo(id, folder, "unknown", 0, [], null, new DateTimeOffset(Directory.GetLastWriteTimeUtc(folder), TimeSpan.Zero), source) { Broken = ex.Reason });
        }
    }
}
