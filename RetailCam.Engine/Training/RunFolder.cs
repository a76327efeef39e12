using System.Text.Json;

namespace RetailCam.Engine.Training;

/// <summary>
/// The files of one run: run.json (settings, categories), metrics.jsonl (one event per line),
/// snapshots/ (PNG files + snapshots.jsonl), checkpoint/ (latest resumable state) and model/ (best model).
/// Appends are line-sized, and a resumed run first cuts away whatever was written after its checkpoint,
/// so no step is ever recorded twice.
/// </summary>
public sealed class RunFolder
{
    public static readonly JsonSerializerOptions Json = EngineJson.Options;

    private readonly Lock appendGate = new();

    public RunFolder(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(Path);
        Directory.CreateDirectory(SnapshotsFolder);
    }

    public string Path { get; }
    public string RunId => System.IO.Path.GetFileName(Path.TrimEnd('/'));
    public string RunFile => System.IO.Path.Combine(Path, "run.json");
    public string MetricsFile => System.IO.Path.Combine(Path, "metrics.jsonl");
    public string SnapshotsFolder => System.IO.Path.Combine(Path, "snapshots");
    public string SnapshotIndexFile => System.IO.Path.Combine(SnapshotsFolder, "snapshots.jsonl");
    public string CheckpointFolder => System.IO.Path.Combine(Path, "checkpoint");
    public string ModelFolder => System.IO.Path.Combine(Path, "model");
    public string EpochModelsFolder => System.IO.Path.Combine(Path, "epochs");

    /// <summary>The model as it stood after an epoch (0-based), kept for comparisons across the run.</summary>
    public string EpochModelFolder(int epoch) => System.IO.Path.Combine(EpochModelsFolder, $"epoch-{epoch + 1:D3}");

    public void AppendMetric(TrainingEvent trainingEvent) => AppendLine(MetricsFile, trainingEvent);

    public void AppendSnapshot(SnapshotTaken snapshot) => AppendLine(SnapshotIndexFile, snapshot);

    private void AppendLine(string file, TrainingEvent trainingEvent)
    {
        var line = JsonSerializer.Serialize(new StoredEvent(trainingEvent.GetType().Name, JsonSerializer.SerializeToElement(trainingEvent, trainingEvent.GetType(), Json)), Json);
        lock (appendGate) File.AppendAllText(file, line + "\n");
    }

    /// <summary>Reads back every stored event (metrics, then snapshots), in file order.</summary>
    public IEnumerable<TrainingEvent> ReadEvents(bool snapshots = false)
    {
        var file = snapshots ? SnapshotIndexFile : MetricsFile;
        if (!File.Exists(file)) yield break;
        foreach (var line in File.ReadLines(file))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            StoredEvent? stored;
            try { stored = JsonSerializer.Deserialize<StoredEvent>(line, Json); }
            catch (JsonException) { continue; } // a line cut by a crash is not an event
            var type = stored?.Type switch
            {
                nameof(BatchEnded) => typeof(BatchEnded),
                nameof(EpochEnded) => typeof(EpochEnded),
                nameof(StatusChanged) => typeof(StatusChanged),
                nameof(SnapshotTaken) => typeof(SnapshotTaken),
                _ => null,
            };
            if (type is null) continue;
            if (stored!.Event.Deserialize(type, Json) is TrainingEvent e) yield return e;
        }
    }

    /// <summary>Drops events and snapshot files of steps after <paramref name="step"/>: they will be produced again.</summary>
    public void TruncateAfter(long step)
    {
        foreach (var file in new[] { MetricsFile, SnapshotIndexFile })
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
        foreach (var png in Directory.EnumerateFiles(SnapshotsFolder, "step-*.png"))
        {
            var name = System.IO.Path.GetFileNameWithoutExtension(png);
            var parts = name.Split('-');
            if (parts.Length >= 2 && long.TryParse(parts[1], out var fileStep) && fileStep > step) File.Delete(png);
        }
    }

    public static void WriteAtomically(string path, string content)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, content);
        File.Move(temporary, path, overwrite: true);
    }

    public static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temporary, content.ToArray());
        File.Move(temporary, path, overwrite: true);
    }

    private sealed record StoredEvent(string Type, JsonElement Event);
}
