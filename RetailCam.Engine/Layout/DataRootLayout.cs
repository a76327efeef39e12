namespace RetailCam.Engine.Layout;

/// <summary>
/// The layout of the data root (<c>RetailCam:DataRoot</c>), the one folder for all state, and the only
/// code that joins an id into a path below it:
/// <code>
/// retailcam.db              SQLite history
/// uploads/ab/&lt;sha256&gt;.png  uploaded photos, once each
/// demo/catalogue/, demo/scenes/   the demo data of the quick start
/// runs/&lt;id&gt;/…              a run's files (<see cref="RunPaths"/>)
/// models/&lt;name&gt;/           model folders placed by hand
/// cache/npm/                npm packages of the demo data
/// cache/onnx/               ONNX exports of model versions, for downloads
/// </code>
/// Constructing it touches nothing on disk.
/// </summary>
public sealed class DataRootLayout
{
    public const string DatabaseFileName = "retailcam.db";
    public const string UploadsFolderName = "uploads";

    public DataRootLayout(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
    }

    public string Root { get; }
    public string DatabaseFile => Path.Combine(Root, DatabaseFileName);
    public string UploadsFolder => Path.Combine(Root, UploadsFolderName);
    public string DemoFolder => Path.Combine(Root, "demo");
    public string DemoCatalogueFolder => Path.Combine(DemoFolder, "catalogue");
    public string DemoScenesFolder => Path.Combine(DemoFolder, "scenes");
    public string CacheFolder => Path.Combine(Root, "cache");
    public string NpmCacheFolder => Path.Combine(CacheFolder, "npm");
    public string OnnxCacheFolder => Path.Combine(CacheFolder, "onnx");
    public string RunsFolder => Path.Combine(Root, "runs");
    public string ModelsFolder => Path.Combine(Root, "models");
    public string DatasetsFolder => Path.Combine(Root, "datasets");

    /// <summary>The folder of a dataset created in the app; throws <see cref="InvalidPathSegmentException"/> for an id that is not one.</summary>
    public string DatasetFolder(string datasetId) => PathSegment.Join(DatasetsFolder, datasetId, "dataset id");

    /// <summary>The paths of the run with this id; throws <see cref="InvalidPathSegmentException"/> for an id that is not one.</summary>
    public RunPaths Run(string runId) => new(PathSegment.Join(RunsFolder, runId, "run id"));

    /// <summary>A model folder placed by hand under models/.</summary>
    public string PlacedModelFolder(string name) => PathSegment.Join(ModelsFolder, name, "model name");

    /// <summary>A cached ONNX export under cache/onnx/; the cache names its files from hashes, never from a model id.</summary>
    public string OnnxCacheFile(string fileName) => PathSegment.Join(OnnxCacheFolder, fileName, "cache file name");

    /// <summary>Ids of the run folders present, skipping folders whose names could not be ids.</summary>
    public IReadOnlyList<string> RunIds() => ValidChildren(RunsFolder);

    /// <summary>Names of the placed model folders present.</summary>
    public IReadOnlyList<string> PlacedModelNames() => ValidChildren(ModelsFolder);

    private static IReadOnlyList<string> ValidChildren(string folder) =>
        Directory.Exists(folder)
            ? Directory.EnumerateDirectories(folder).Select(Path.GetFileName).Where(PathSegment.IsValid).Select(n => n!).Order(StringComparer.Ordinal).ToList()
            : [];
}
