using System.Diagnostics.Metrics;
using RetailCam.Engine.Telemetry;

namespace RetailCam.Tests.Telemetry;

/// <summary>
/// The engine's instruments are process-wide: the tests that read them exactly run alone, so no other
/// test's predictions or runs add to what they count.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EngineInstrumentsCollection
{
    public const string Name = "the engine's process-wide instruments";
}

/// <summary>One measurement of an engine instrument, with its tags.</summary>
public sealed record Measured(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags)
{
    public object? Tag(string key) => Tags.GetValueOrDefault(key);
}

/// <summary>Everything the engine's meter records from its creation on, as a MeterListener sees it.</summary>
public sealed class EngineInstruments : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly Lock gate = new();
    private readonly List<Measured> recorded = [];

    public EngineInstruments()
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EngineTelemetry.Name) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Add(i, value, tags));
        listener.SetMeasurementEventCallback<int>((i, value, tags, _) => Add(i, value, tags));
        listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Add(i, value, tags));
        listener.Start();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var (key, tagValue) in tags) copy[key] = tagValue;
        lock (gate) recorded.Add(new Measured(instrument.Name, value, copy));
    }

    /// <summary>Measurements of recorded (not observable) instruments so far.</summary>
    public IReadOnlyList<Measured> Recorded(string instrument)
    {
        lock (gate) return recorded.Where(m => m.Instrument == instrument).ToList();
    }

    /// <summary>What the observable gauges show now.</summary>
    public IReadOnlyList<Measured> Observe(string instrument)
    {
        int from;
        lock (gate) from = recorded.Count;
        listener.RecordObservableInstruments();
        lock (gate) return recorded.Skip(from).Where(m => m.Instrument == instrument).ToList();
    }

    public void Dispose() => listener.Dispose();
}
