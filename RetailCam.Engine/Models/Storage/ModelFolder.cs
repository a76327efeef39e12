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
/// (<see cref="ModelManifest"/>). Where a model is saved again and again (a run's best model) the
/// folder is a slot of versions: each save writes a whole new version folder
/// <c>v&lt;ticks&gt;-&lt;id&gt;/</c> and then publishes it by replacing the one-line pointer file
/// <c>current</c> (one atomic rename), so a reader sees the previous model or the new one, never a mix.
/// A folder with the two files at its top (placed by hand, or saved before versions existed) is read as
/// it is.
/// </summary>
/// <remarks>
/// Files are flushed to disk before they are renamed into place, and the manifest records the weights'
/// SHA-256, so files mixed from different saves are reported on load rather than yielding a silently
/// wrong model. The previous version stays beside the current one for a reader that resolved the
/// pointer just before it moved; older ones, and leftovers of a save that crashed, are removed
/// (<see cref="CleanLeftovers"/>).
/// </remarks>
public static class ModelFolder
{
    public const string WeightsFileName = "model.safetensors";
    public const string ManifestFileName = "manifest.json";

    /// <summary>The pointer file of a slot of versions: its one line names the published version folder.</summary>
    public const string PointerFileName = "current";

    private const string VersionPrefix = "v";
    private const string StagingPrefix = ".staging-";

    /// <summary>Writes <paramref name="network"/> and its manifest as a new version of <paramref name="folder"/> and publishes it.</summary>
    /// <returns>The manifest as written, with <see cref="ModelManifest.WeightsSha256"/> set.</returns>
    public static ModelManifest Save(string folder, CamNetwork network, ModelManifest manifest)
    {
        var (version, written) = Write(folder, network, manifest);
        Publish(folder, version);
        return written;
    }

    /// <summary>
    /// The first half of <see cref="Save"/>: the new version folder, complete and flushed, but not yet
    /// published; readers go on seeing the current version until <see cref="Publish"/>.
    /// </summary>
    /// <returns>The version folder's name and the manifest as written.</returns>
    public static (string Version, ModelManifest Manifest) Write(string folder, CamNetwork network, ModelManifest manifest)
    {
        CheckDescribes(manifest, network);
        Directory.CreateDirectory(folder);
        // The writer's process id in the name lets the clean-up tell a crashed save from one under way.
        var staging = Path.Combine(folder, $"{StagingPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var weightsPath = Path.Combine(staging, WeightsFileName);
            using (var stream = new FileStream(weightsPath, FileMode.CreateNew, FileAccess.Write))
            {
                StateDictFiles.WriteSafetensors(stream, network.state_dict());
                stream.Flush(flushToDisk: true);
            }
            var written = manifest with { WeightsSha256 = Sha256(weightsPath) };
            WriteFlushed(Path.Combine(staging, ManifestFileName), Encoding.UTF8.GetBytes(written.ToJson()));
            var version = Invariant($"{VersionPrefix}{DateTime.UtcNow.Ticks:D19}-{Guid.NewGuid().ToString("N")[..8]}");
            Directory.Move(staging, Path.Combine(folder, version));
            return (version, written);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Makes <paramref name="version"/> the model of <paramref name="folder"/> in one rename, then removes versions older than the previous one.</summary>
    public static void Publish(string folder, string version)
    {
        if (!IsVersionName(version) || !File.Exists(Path.Combine(folder, version, ManifestFileName)))
            throw new ArgumentException($"'{version}' is not a written version of {folder}.", nameof(version));
        var pointer = Path.Combine(folder, PointerFileName);
        var temporary = $"{pointer}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            WriteFlushed(temporary, Encoding.UTF8.GetBytes(version + "\n"));
            File.Move(temporary, pointer, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
        // Files of a folder saved before versions existed would be read by nobody now.
        foreach (var name in new[] { WeightsFileName, ManifestFileName })
            if (File.Exists(Path.Combine(folder, name))) File.Delete(Path.Combine(folder, name));
        PruneVersions(folder, version);
    }

    /// <summary>
    /// The folder that holds the model <paramref name="folder"/> serves now: the published version of a
    /// slot, or the folder itself when it holds the files directly. Null when neither holds a manifest.
    /// </summary>
    public static string? Resolve(string folder)
    {
        var pointer = Path.Combine(folder, PointerFileName);
        if (File.Exists(pointer))
        {
            string version;
            try
            {
                version = File.ReadAllText(pointer).Trim();
            }
            catch (IOException)
            {
                return null;
            }
            var published = Path.Combine(folder, version);
            return IsVersionName(version) && Directory.Exists(published) ? published : null;
        }
        return File.Exists(Path.Combine(folder, ManifestFileName)) ? folder : null;
    }

    /// <summary>Whether <paramref name="folder"/> holds a published model (a manifest, read or not).</summary>
    public static bool Exists(string folder) => Resolve(folder) is { } published && File.Exists(Path.Combine(published, ManifestFileName));

    /// <summary>
    /// Removes what a crashed save left in <paramref name="folder"/>: staging folders of processes that no
    /// longer run, temporary files, and versions neither published nor the one before. Returns what it removed.
    /// </summary>
    public static IReadOnlyList<string> CleanLeftovers(string folder)
    {
        var removed = new List<string>();
        if (!Directory.Exists(folder)) return removed;
        foreach (var staging in Directory.EnumerateDirectories(folder, StagingPrefix + "*"))
        {
            if (WriterIsAlive(Path.GetFileName(staging))) continue;
            Directory.Delete(staging, recursive: true);
            removed.Add(staging);
        }
        foreach (var temporary in Directory.EnumerateFiles(folder, "*.tmp", SearchOption.AllDirectories))
        {
            if (WriterIsAlive(Path.GetFileName(temporary))) continue;
            File.Delete(temporary);
            removed.Add(temporary);
        }
        if (Resolve(folder) is { } published && published != folder)
        {
            var current = Path.GetFileName(published);
            foreach (var stale in Versions(folder).Where(v => string.CompareOrdinal(v, current) > 0))
            {
                // Written after the published one but never published: the save died between the two steps.
                Directory.Delete(Path.Combine(folder, stale), recursive: true);
                removed.Add(Path.Combine(folder, stale));
            }
            removed.AddRange(PruneVersions(folder, current));
        }
        return removed;
    }

    private static List<string> PruneVersions(string folder, string current)
    {
        var removed = new List<string>();
        var older = Versions(folder).Where(v => string.CompareOrdinal(v, current) < 0).ToList();
        foreach (var old in older.Take(Math.Max(0, older.Count - 1)))
        {
            try
            {
                Directory.Delete(Path.Combine(folder, old), recursive: true);
                removed.Add(Path.Combine(folder, old));
            }
            catch (IOException)
            {
                // Another process prunes the same slot; whichever gets there first removes it.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return removed;
    }

    private static List<string> Versions(string folder) =>
        Directory.EnumerateDirectories(folder, VersionPrefix + "*").Select(Path.GetFileName).Where(n => IsVersionName(n)).Select(n => n!)
            .Order(StringComparer.Ordinal).ToList();

    private static bool IsVersionName(string? name) =>
        name is { Length: 29 } && name[0] == 'v' && name[20] == '-'
        && name.AsSpan(1, 19).IndexOfAnyExceptInRange('0', '9') < 0 && name.AsSpan(21).IndexOfAnyExcept(LowerHex) < 0;

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    /// <summary>Names written by a save carry the writer's process id right after their prefix; a name without one is nobody's.</summary>
    private static bool WriterIsAlive(string name)
    {
        var digits = name.StartsWith(StagingPrefix, StringComparison.Ordinal)
            ? name[StagingPrefix.Length..].Split('-')[0]
            : name.Split('.').Reverse().Skip(2).FirstOrDefault() ?? "";
        if (!int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var processId)) return false;
        if (processId == Environment.ProcessId) return true;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void WriteFlushed(string path, byte[] content)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        stream.Write(content);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Replaces the manifest of a saved folder, keeping its weights and their hash (settings found
    /// after training, like the serving side and the temperature); one atomic rename.
    /// </summary>
    public static ModelManifest UpdateManifest(string folder, Func<ModelManifest, ModelManifest> change)
    {
        var published = Resolve(folder) ?? folder;
        var current = ReadManifest(published);
        var updated = change(current) with { WeightsSha256 = current.WeightsSha256 };
        if (updated.Problems() is { Count: > 0 } problems)
            throw new ArgumentException("Invalid manifest: " + string.Join(" ", problems), nameof(change));
        // One file renamed within the published version: a reader gets the old manifest or the new, both true of the weights.
        var manifestPath = Path.Combine(published, ManifestFileName);
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
        if (!Directory.Exists(folder))
            throw new ModelLoadException(folder, null, "model folder not found.");
        var published = Resolve(folder);
        if (published is null && File.Exists(Path.Combine(folder, PointerFileName)))
            throw new ModelLoadException(Path.Combine(folder, PointerFileName), null, "names no complete version of the model in its folder.");
        var path = Path.Combine(published ?? folder, ManifestFileName);
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
        for (var attempt = 1; ; attempt++)
        {
            // Resolved once per attempt: the manifest and the weights come from the same version even if another is published meanwhile.
            var published = Resolve(folder) ?? folder;
            try
            {
                return LoadPublished(published, device);
            }
            catch (Exception ex) when (ex is IOException or ModelLoadException && attempt < 5 && published != folder
                && (!Directory.Exists(published) || Resolve(folder) != published))
            {
                // Two newer versions were published while this one was read, and it was pruned (or is being pruned:
                // its files go before its folder does): read the current one.
            }
        }
    }

    private static LoadedModel LoadPublished(string published, Device device)
    {
        var manifest = ReadManifest(published);
        var weightsPath = Path.Combine(published, WeightsFileName);
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
