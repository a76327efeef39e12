using System.Security.Cryptography;
using System.Text;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Models.Export;
using RetailCam.Engine.Models.Storage;

namespace RetailCam.Engine.Inference;

/// <summary>A model's ONNX file, ready to be sent.</summary>
/// <param name="FromCache">True when the bytes were read from the cache rather than exported for this request.</param>
public sealed record OnnxDownload(string ModelId, byte[] Bytes, bool FromCache)
{
    /// <summary>The name a browser saves the file under (<see cref="FileNameFor"/>).</summary>
    public string FileName => FileNameFor(ModelId);

    /// <summary>The model id with every character outside letters, digits, '.', '_' and '-' replaced by '_', and ".onnx".</summary>
    public static string FileNameFor(string modelId) =>
        string.Concat(modelId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_')).TrimStart('.') + ".onnx";
}

/// <summary>
/// ONNX exports of the data root's models by id (<see cref="ModelRegistry"/> ids), kept under
/// cache/onnx/ per model version, so only the first download of a version pays for the export.
/// </summary>
/// <remarks>
/// A cache file is named from hashes: of the id, and of everything the export reads (the published
/// version folder, its manifest, the weights file's size and time, the exporter's own version). A run's
/// best model is republished every epoch and tuned after training in place (a new manifest, the same
/// weights), so the manifest is part of the key; when a model's new version is exported its older
/// files are removed, so the cache holds one file per model. Exports run one at a time: each loads a
/// float32 copy of the model, and two requests for the same new version wait for one export.
/// </remarks>
public sealed class OnnxExportCache(DataRootLayout layout, ModelRegistry registry) : IDisposable
{
    // Part of every key: raise it whenever the exported graph changes, so files of the old graph are never served.
    private const string ExporterVersion = "onnx-export-1";

    private readonly SemaphoreSlim exporting = new(1, 1);

    /// <summary>
    /// The ONNX file of the model <paramref name="modelId"/> serves now; null when the id names no model.
    /// Throws <see cref="ModelLoadException"/> for a model whose files are damaged and
    /// <see cref="OnnxExportException"/> for one the export cannot express.
    /// </summary>
    public async Task<OnnxDownload?> GetAsync(string modelId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        if (registry.Locate(modelId) is not { } source) return null;
        var (prefix, file) = CacheFileOf(source);
        if (TryRead(file) is { } cached) return new OnnxDownload(modelId, cached, FromCache: true);

        await exporting.WaitAsync(cancellationToken);
        try
        {
            if (TryRead(file) is { } exportedMeanwhile) return new OnnxDownload(modelId, exportedMeanwhile, FromCache: true);
            var result = await Task.Run(() => OnnxExport.FromFolder(source.Folder), cancellationToken);
            OnnxExport.WriteAtomically(file, result.Bytes);
            RemoveOlderVersions(prefix, file);
            return new OnnxDownload(modelId, result.Bytes, FromCache: false);
        }
        finally
        {
            exporting.Release();
        }
    }

    private (string Prefix, string File) CacheFileOf(ModelSource source)
    {
        var weights = new FileInfo(Path.Combine(source.Folder, ModelFolder.WeightsFileName));
        var version = string.Join('\n', ExporterVersion, source.Id, source.Folder, source.Manifest.ToJson(),
            weights.Exists ? weights.Length : -1, weights.Exists ? weights.LastWriteTimeUtc.Ticks : 0);
        var prefix = Hash(source.Id)[..16];
        return (prefix, layout.OnnxCacheFile($"{prefix}-{Hash(version)[..32]}.onnx"));
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static byte[]? TryRead(string file)
    {
        try
        {
            return File.Exists(file) ? File.ReadAllBytes(file) : null;
        }
        catch (IOException)
        {
            // Removed between the check and the read (a newer version pruned it): export again.
            return null;
        }
    }

    private void RemoveOlderVersions(string prefix, string current)
    {
        foreach (var stale in Directory.EnumerateFiles(layout.OnnxCacheFolder, $"{prefix}-*.onnx").Where(f => f != current))
        {
            try
            {
                File.Delete(stale);
            }
            catch (IOException)
            {
                // Being read right now; the next export of this model removes it.
            }
        }
    }

    public void Dispose() => exporting.Dispose();
}
