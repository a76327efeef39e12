namespace RetailCam.Engine.Layout;

/// <summary>
/// Where the files of one run live: run.json (settings, categories), metrics.jsonl (one event per line),
/// snapshots/ (PNG files + snapshots.jsonl), probes/ (the probe photos), checkpoint/ (latest resumable
/// state), model/ (best model) and epochs/epoch-NNN/ (the model after each epoch). Naming a path never
/// creates anything; whoever writes creates the folder it writes into.
/// </summary>
public sealed class RunPaths
{
    /// <summary>A run in any folder (the CLI's --out); inside a data root use <see cref="DataRootLayout.Run"/>, which checks the id.</summary>
    public RunPaths(string folder)
    {
        Folder = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
    }

    public string Folder { get; }
    public string RunId => Path.GetFileName(Folder);
    public string RunFile => Path.Combine(Folder, "run.json");
    public string MetricsFile => Path.Combine(Folder, "metrics.jsonl");

    /// <summary>The dataset version the run trained on: every photo with its SHA-256 (<c>DatasetManifest</c>).</summary>
    public string DatasetManifestFile => Path.Combine(Folder, "dataset.json");
    public string SnapshotsFolder => Path.Combine(Folder, "snapshots");
    public string SnapshotIndexFile => Path.Combine(SnapshotsFolder, "snapshots.jsonl");
    public string ProbesFolder => Path.Combine(Folder, "probes");
    public string CheckpointFolder => Path.Combine(Folder, "checkpoint");
    public string ModelFolder => Path.Combine(Folder, "model");
    public string EpochModelsFolder => Path.Combine(Folder, "epochs");

    /// <summary>The model as it stood after an epoch (0-based), kept for comparisons across the run.</summary>
    public string EpochModelFolder(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return Path.Combine(EpochModelsFolder, $"epoch-{epoch + 1:D3}");
    }

    /// <summary>A snapshot image by the file name its event recorded (checked: a name, never a path).</summary>
    public string SnapshotFile(string fileName) => PathSegment.Join(SnapshotsFolder, fileName, "snapshot file name");

    public string ProbeFile(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return Path.Combine(ProbesFolder, $"probe-{index}.png");
    }
}
