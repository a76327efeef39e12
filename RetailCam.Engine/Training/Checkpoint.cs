using System.Text.Json;
using RetailCam.Engine.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RetailCam.Engine.Training;

/// <summary>Where a run stands: the next batch to train is (Epoch, BatchInEpoch); Step batches are done.</summary>
public sealed record TrainingPosition(long Step, int Epoch, int BatchInEpoch, double BestAccuracy, int BestEpoch, double ElapsedSeconds, string RngState);

/// <summary>
/// The latest resumable state of a run: weights, optimiser state and position, in one folder replaced
/// atomically (written beside, then swapped by rename), so a kill at any moment leaves a whole checkpoint.
/// </summary>
public static class Checkpoint
{
    private const string WeightsFile = "weights.dat";
    private const string OptimizerFile = "optimizer.dat";
    private const string PositionFile = "position.json";

    public static void Save(string folder, CamNetwork network, optim.Optimizer optimizer, TrainingPosition position)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(folder))!;
        // One run has one writer: any staging folder here is what a killed save left.
        if (Directory.Exists(parent))
            foreach (var leftover in Directory.EnumerateDirectories(parent, ".checkpoint-*")) Directory.Delete(leftover, recursive: true);
        var staging = Path.Combine(parent, $".checkpoint-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            network.save(Path.Combine(staging, WeightsFile));
            if (optimizer is OptimizerHelper helper) helper.save_state_dict(Path.Combine(staging, OptimizerFile));
            File.WriteAllText(Path.Combine(staging, PositionFile), JsonSerializer.Serialize(position, EngineJson.Options));

            var previous = folder + ".old";
            if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
            if (Directory.Exists(folder)) Directory.Move(folder, previous);
            Directory.Move(staging, folder);
            if (Directory.Exists(previous)) Directory.Delete(previous, recursive: true);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>The checkpoint to resume from: the folder, or the previous one when a swap was cut short.</summary>
    public static string? Find(string folder)
    {
        if (File.Exists(Path.Combine(folder, PositionFile))) return folder;
        var previous = folder + ".old";
        return File.Exists(Path.Combine(previous, PositionFile)) ? previous : null;
    }

    /// <summary>Where the checkpoint in <paramref name="folder"/> stands, without loading its weights; null when it has no position.</summary>
    public static TrainingPosition? ReadPosition(string folder)
    {
        var file = Path.Combine(folder, PositionFile);
        return File.Exists(file) ? JsonSerializer.Deserialize<TrainingPosition>(File.ReadAllText(file), EngineJson.Options) : null;
    }

    public static TrainingPosition Load(string folder, CamNetwork network, optim.Optimizer optimizer)
    {
        var found = Find(folder) ?? throw new FileNotFoundException($"No checkpoint to resume from in {folder}.");
        var position = JsonSerializer.Deserialize<TrainingPosition>(File.ReadAllText(Path.Combine(found, PositionFile)), EngineJson.Options)
            ?? throw new InvalidDataException($"{Path.Combine(found, PositionFile)} is empty.");
        network.load(Path.Combine(found, WeightsFile));
        var optimizerFile = Path.Combine(found, OptimizerFile);
        if (optimizer is OptimizerHelper helper && File.Exists(optimizerFile)) helper.load_state_dict(optimizerFile);
        return position;
    }

    public static string CaptureRng()
    {
        using var state = get_rng_state();
        return Convert.ToBase64String(state.data<byte>().ToArray());
    }

    public static void RestoreRng(string base64)
    {
        if (string.IsNullOrEmpty(base64)) return;
        var bytes = Convert.FromBase64String(base64);
        using var state = tensor(bytes, dtype: ScalarType.Byte);
        set_rng_state(state);
    }
}
