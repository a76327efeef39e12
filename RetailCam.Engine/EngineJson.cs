using System.Text.Json;
using System.Text.Json.Serialization;

namespace RetailCam.Engine;

/// <summary>
/// The one JSON shape of what the engine writes and reads back: run.json, metrics.jsonl, a
/// checkpoint's position, model manifests, and the run documents the web app serves from them.
/// camelCase names, enums by name, and NaN or infinity as named literals, because the loss of a
/// diverging run is NaN and must be recorded rather than fail the write.
/// </summary>
public static class EngineJson
{
    public static JsonSerializerOptions Options { get; } = Create(indented: false);

    /// <summary>The same shape indented, for files people open by hand; <paramref name="converters"/> take precedence over the defaults.</summary>
    public static JsonSerializerOptions Indented(params JsonConverter[] converters) => Create(indented: true, converters);

    private static JsonSerializerOptions Create(bool indented, params JsonConverter[] converters)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            WriteIndented = indented,
        };
        // A converter for one type, registered before the enum factory, wins over it for that type.
        foreach (var converter in converters) options.Converters.Add(converter);
        options.Converters.Add(new JsonStringEnumConverter());
        // Shared by every writer: nobody may change it under the others.
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
