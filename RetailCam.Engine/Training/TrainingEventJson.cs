using System.Text.Json;

namespace RetailCam.Engine.Training;

/// <summary>
/// One training event as one line of JSON, tagged with its kind: the form of a run's event log and of
/// the events a worker process publishes to the web nodes.
/// </summary>
public static class TrainingEventJson
{
    public static string Serialize(TrainingEvent trainingEvent) =>
        JsonSerializer.Serialize(new TaggedEvent(trainingEvent.GetType().Name, JsonSerializer.SerializeToElement(trainingEvent, trainingEvent.GetType(), EngineJson.Options)), EngineJson.Options);

    /// <summary>The event a line holds, or null for a line that is none (cut by a crash, or of a kind this version does not know).</summary>
    public static TrainingEvent? Deserialize(string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return null;
        TaggedEvent? tagged;
        try { tagged = JsonSerializer.Deserialize<TaggedEvent>(line, EngineJson.Options); }
        catch (JsonException) { return null; }
        var type = tagged?.Type switch
        {
            nameof(BatchEnded) => typeof(BatchEnded),
            nameof(EpochEnded) => typeof(EpochEnded),
            nameof(StatusChanged) => typeof(StatusChanged),
            nameof(SnapshotTaken) => typeof(SnapshotTaken),
            _ => null,
        };
        if (type is null) return null;
        try { return tagged!.Event.Deserialize(type, EngineJson.Options) as TrainingEvent; }
        catch (JsonException) { return null; }
    }

    private sealed record TaggedEvent(string Type, JsonElement Event);
}
