using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using static System.FormattableString;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Storage;

/// <summary>A network loaded from a model folder, with the manifest that describes it. Disposing releases the network.</summary>
public sealed class LoadedModel(ModelManifest manifest, CamNetwork network) : IDisposable
{
    public ModelManifest Manifest { get; } = manifest;
    public CamNetwork Network { get; } = network;

    public void Dispose() => Network.Dispose();
}

/// <summary>
/// A model is one folder: <c>model.safetensors</c> (every parameter and persistent buffer of the
/// <see cref="CamNetwork"/>, keyed by its state-dict names) and <c>manifest.json</c>
/// (<see cref="ModelManifest"/>).
/// </summary>
/// <remarks>
/// Saving writes both files under temporary names in the folder, flushes them to disk, then
/// renames them into place, so a reader never sees a half-written file. The manifest records the
/// weights' SHA-256, so a crash between the two renames, or files mixed from different saves, is
/// reported on load rather than yielding a silently wrong model.
/// </remarks>
public static class ModelFolder
{
    public const string WeightsFileName = "model.safetensors";
    public const string ManifestFileName = "manifest.json";

    /// <summary>Writes <paramref name="network"/> and its manifest into <paramref name="folder"/> (created if needed, replaced if present).</summary>
    /// <returns>The manifest as written, with <see cref="ModelManifest.WeightsSha256"/> set.</returns>
    public static ModelManifest Save(string folder, CamNetwork network, ModelManifest manifest)
    {
        CheckDescribes(manifest, network);
        Directory.CreateDirectory(folder);
        var weightsPath = Path.Combine(folder, WeightsFileName);
        var manifestPath = Path.Combine(folder, ManifestFileName);
        var stamp = $"{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        var weightsTemporary = $"{weightsPath}.{stamp}";
        var manifestTemporary = $"{manifestPath}.{stamp}";
        try
        {
            using (var stream = new FileStream(weightsTemporary, FileMode.CreateNew, FileAccess.Write))
            {
                StateDictFiles.WriteSafetensors(stream, network.state_dict());
                stream.Flush(flushToDisk: true);
            }
            var written = manifest with { WeightsSha256 = Sha256(weightsTemporary) };
            using (var stream = new FileStream(manifestTemporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(Encoding.UTF8.GetBytes(written.ToJson()));
                stream.Flush(flushToDisk: true);
            }
            File.Move(weightsTemporary, weightsPath, overwrite: true);
            File.Move(manifestTemporary, manifestPath, overwrite: true);
            return written;
        }
        finally
        {
            if (File.Exists(weightsTemporary)) File.Delete(weightsTemporary);
            if (File.Exists(manifestTemporary)) File.Delete(manifestTemporary);
        }
    }

    /// <summary>
    /// Replaces the manifest of a saved folder, keeping its weights and their hash (settings found
    /// after training, like the serving side and the temperature); one atomic rename.
    /// </summary>
    public static ModelManifest UpdateManifest(string folder, Func<ModelManifest, ModelManifest> change)
    {
        var current = ReadManifest(folder);
        var updated = change(current) with { WeightsSha256 = current.WeightsSha256 };
        if (updated.Problems() is { Count: > 0 } problems)
            throw new ArgumentException("Invalid manifest: " + string.Join(" ", problems), nameof(change));
        var manifestPath = Path.Combine(folder, ManifestFileName);
        var temporary = $"{manifestPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(Encoding.UTF8.GetBytes(updated.ToJson()));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, manifestPath, overwrite: true);
            return updated;
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>Reads and checks <c>manifest.json</c> alone (for listings, without loading weights).</summary>
    public static ModelManifest ReadManifest(string folder)
    {
        var path = Path.Combine(folder, ManifestFileName);
        if (!Directory.Exists(folder))
            throw new ModelLoadException(folder, null, "model folder not found.");
        if (!File.Exists(path))
            throw new ModelLoadException(path, null, $"missing: a model folder holds {ManifestFileName} and {WeightsFileName}.");

        ModelManifest manifest;
        try
        {
            manifest = ModelManifest.FromJson(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(path, null, $"is not a valid manifest: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new ModelLoadException(path, null, $"cannot be read: {ex.Message}", ex);
        }
        var problems = manifest.Problems();
        if (problems.Count > 0)
            throw new ModelLoadException(path, null, "is not a valid manifest: " + string.Join(" ", problems));
        return manifest;
    }

    /// <summary>Loads a model folder onto the CPU (see <see cref="Load(string, Device)"/>).</summary>
    public static LoadedModel Load(string folder) => Load(folder, CPU);

    /// <summary>
    /// Loads a model folder. Every file and tensor is checked against the manifest before any
    /// weight is read; faults raise <see cref="ModelLoadException"/>. The network comes back in
    /// evaluation mode with every parameter and buffer on <paramref name="device"/>.
    /// </summary>
    public static LoadedModel Load(string folder, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var manifest = ReadManifest(folder);
        var weightsPath = Path.Combine(folder, WeightsFileName);
        if (!File.Exists(weightsPath))
            throw new ModelLoadException(weightsPath, null, $"missing: the manifest is there but the weights are not.");
        var index = SafetensorsIndex.Read(weightsPath);

        var network = CreateFor(manifest, index, device);
        try
        {
            var targets = network.state_dict();
            CheckTensors(manifest, index, targets);
            if (manifest.WeightsSha256 is not null && Sha256(weightsPath) != manifest.WeightsSha256)
                throw new ModelLoadException(weightsPath, null,
                    $"does not match the SHA-256 recorded in {ManifestFileName}: the two files come from different saves.");

            var loaded = StateDictFiles.ReadSafetensors(index, targets.Keys.ToList());
            try
            {
                using (no_grad())
                {
                    foreach (var (name, target) in targets)
                        target.copy_(loaded[name]);
                }
            }
            finally
            {
                foreach (var tensor in loaded.Values) tensor.Dispose();
            }
            network.eval();
            return new LoadedModel(manifest, network);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static CamNetwork CreateFor(ModelManifest manifest, SafetensorsIndex index, Device device)
    {
        if (!manifest.Preprocessing.UsesMeanImage)
            return CamNetworkFactory.Create(manifest, device: device);

        // The mean image's size is a property of the weights, not of the manifest: shape the
        // placeholder from the file so that it fits; loading overwrites its values.
        const string meanName = "normalization.mean";
        if (!index.Entries.TryGetValue(meanName, out var mean))
            throw new ModelLoadException(index.Path, meanName, "is missing, but the manifest's preprocessing uses a mean image.");
        if (mean.Shape is not [1, 3, > 0, > 0])
            throw new ModelLoadException(index.Path, meanName, $"has shape {mean.ShapeText}; a mean image is [1,3,H,W].");
        using var placeholder = zeros(3, mean.Shape[2], mean.Shape[3]);
        return CamNetworkFactory.Create(manifest, placeholder, device);
    }

    private static void CheckTensors(ModelManifest manifest, SafetensorsIndex index, Dictionary<string, Tensor> targets)
    {
        foreach (var (name, target) in targets)
        {
            if (!index.Entries.TryGetValue(name, out var entry))
                throw new ModelLoadException(index.Path, name, $"is missing, but a {Describe(manifest)} network has it.");
            if (!entry.Shape.SequenceEqual(target.shape))
                throw new ModelLoadException(index.Path, name,
                    $"has shape {entry.ShapeText} but the manifest ({Describe(manifest)}) needs {ShapeFormat.Format(target.shape)}.");
            if (entry.DType != target.dtype)
                throw new ModelLoadException(index.Path, name, $"has dtype {entry.DType} but the network needs {target.dtype}.");
        }
        var unexpected = index.Entries.Keys.FirstOrDefault(name => !targets.ContainsKey(name));
        if (unexpected is not null)
            throw new ModelLoadException(index.Path, unexpected, $"is not part of a {Describe(manifest)} network.");
    }

    private static string Describe(ModelManifest manifest) =>
        $"{manifest.Backbone.ToString().ToLowerInvariant()}" +
        (manifest.BackboneWidth != 1 ? Invariant($" ×{manifest.BackboneWidth}") : "") +
        $", head {manifest.HeadHiddenChannels}, {manifest.Categories.Count} categories";

    private static void CheckDescribes(ModelManifest manifest, CamNetwork network)
    {
        var problems = manifest.Problems().ToList();
        var width = network.Backbone is Vgg16Backbone vgg ? vgg.WidthMultiplier : 1.0;
        if (manifest.Backbone != network.Backbone.Kind)
            problems.Add($"backbone is {manifest.Backbone} but the network's is {network.Backbone.Kind}.");
        if (manifest.BackboneWidth != width)
            problems.Add(Invariant($"backboneWidth is {manifest.BackboneWidth} but the network's is {width}."));
        if (manifest.HeadHiddenChannels != network.Head.HiddenChannels)
            problems.Add($"headHiddenChannels is {manifest.HeadHiddenChannels} but the network's head has {network.Head.HiddenChannels}.");
        if (manifest.Categories is { } categories && categories.Count != network.Head.ClassCount)
            problems.Add($"{categories.Count} categories are listed but the network has {network.Head.ClassCount} classes.");
        var spec = network.Normalization.Spec;
        if (manifest.Preprocessing is { } p && (p.ChannelOrder != spec.ChannelOrder || p.Scale != spec.Scale
            || !p.Mean.SequenceEqual(spec.Mean) || !p.Std.SequenceEqual(spec.Std) || p.UsesMeanImage != spec.UsesMeanImage))
            problems.Add("preprocessing differs from the network's input normalisation.");
        if (problems.Count > 0)
            throw new ArgumentException("The manifest does not describe this network: " + string.Join(" ", problems), nameof(manifest));
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
