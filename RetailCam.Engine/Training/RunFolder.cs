using System.Text.Json;
using RetailCam.Engine.Layout;

namespace RetailCam.Engine.Training;

/// <summary>
/// The event log of one run (metrics.jsonl, snapshots/snapshots.jsonl) at the paths <see cref="RunPaths"/> names.
/// Appends are line-sized, and a resumed run first cuts away whatever was written after its checkpoint,
/// so no step is ever recorded twice.
/// </summary>
public sealed class RunFolder
{
    private readonly Lock appendGate = new();

    /// <summary>A run in any folder (the CLI's --out); constructing touches nothing on disk.</summary>
    public RunFolder(string path) : this(new RunPaths(path)) { }

    public RunFolder(RunPaths paths) => Paths = paths;

    public RunPaths Paths { get; }
    public string RunId => Paths.RunId;

    /// <summary>Creates the run's folder and its snapshots folder, before the run writes.</summary>
    public RunFolder EnsureCreated()
    {
        Directory.CreateDirectory(Paths.SnapshotsFolder);
        return this;
    }

    public void AppendMetric(TrainingEvent trainingEvent) => AppendLine(Paths.MetricsFile, trainingEvent);

    public void AppendSnapshot(SnapshotTaken snapshot) => AppendLine(Paths.SnapshotIndexFile, snapshot);

    private void AppendLine(string file, TrainingEvent trainingEvent)
    {
        var line = TrainingEventJson.Serialize(trainingEvent);
        lock (appendGate)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
            File.AppendAllText(file, line + "\n");
        }
    }

    /// <summary>Reads back every stored event (metrics, then snapshots), in file order.</summary>
    public IEnumerable<TrainingEvent> ReadEvents(bool snapshots = false)
    {
        var file = snapshots ? Paths.SnapshotIndexFile : Paths.MetricsFile;
        if (!File.Exists(file)) yield break;
        foreach (var line in File.ReadLines(file))
        {
            // A line cut by a crash is not an event.
            if (TrainingEventJson.Deserialize(line) is { } e) yield return e;
        }
    }

    /// <summary>Drops events and snapshot files of steps after <paramref name="step"/>: they will be produced again.</summary>
    public void TruncateAfter(long step)
    {
        foreach (var file in new[] { Paths.MetricsFile, Paths.SnapshotIndexFile })
        {
            if (!File.Exists(file)) continue;
            var kept = new List<string>();
            foreach (var line in File.ReadLines(file))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    using var document = JsonDocument.Parse(line);
                    if (document.RootElement.GetProperty("event").GetProperty("step").GetInt64() <= step) kept.Add(line);
                }
                catch (JsonException) { }
            }
            WriteAtomically(file, string.Concat(kept.Select(l => l + "\n")));
        }
        if (!Directory.Exists(Paths.SnapshotsFolder)) return;
        foreach (var png in Directory.EnumerateFiles(Paths.SnapshotsFolder, "step-*.png"))
        {
            var name = System.IO.Path.GetFileNameWithoutExtension(png);
            var parts = name.Split('-');
            if (parts.Length >= 2 && long.TryParse(parts[1], out var fileStep) && fileStep > step) File.Delete(png);
        }
    }

    /// <summary>UTF-8 without a byte-order mark, as File.WriteAllText writes it.</summary>
    public static void WriteAtomically(string path, string content) => WriteAtomically(path, System.Text.Encoding.UTF8.GetBytes(content));

    public static void WriteAtomically(string path, ReadOnlySpan<byte> content) => AtomicFile.Write(path, content, flushToDisk: false);

}
