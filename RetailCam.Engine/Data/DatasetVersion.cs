using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RetailCam.Engine.Data;

/// <summary>One photo of a dataset version: its path from the root, size and SHA-256.</summary>
public sealed record DatasetFile(string Path, long Length, string Sha256);

/// <summary>
/// Exactly which photos a run trained on: every catalogue entry with its hash, and a version id that is
/// the SHA-256 of that list, so two runs on the same photos share an id and any added, removed,
/// moved or changed photo gives another one.
/// </summary>
public sealed record DatasetManifest(string Version, int Files, long Bytes, IReadOnlyList<DatasetFile> Entries)
{
    public const string FileName = "dataset.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary>Hashes every entry of <paramref name="catalogue"/> (what training reads), in path order.</summary>
    public static DatasetManifest Of(ImageCatalogue catalogue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalogue);
        var files = new List<DatasetFile>(catalogue.Entries.Count);
        foreach (var entry in catalogue.Entries.OrderBy(e => e.RelativePath, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stream = File.OpenRead(entry.FullPath);
            files.Add(new DatasetFile(entry.RelativePath, stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream))));
        }
        var listing = new StringBuilder();
        foreach (var file in files) listing.Append(file.Path).Append('\t').Append(file.Sha256).Append('\n');
        var version = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(listing.ToString())));
        return new DatasetManifest(version, files.Count, files.Sum(f => f.Length), files);
    }

    public void Save(string path)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    public static DatasetManifest? Load(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize<DatasetManifest>(File.ReadAllText(path), Json) : null;

    /// <summary>What changed from <paramref name="before"/> to this version: paths added, removed, and kept with other bytes.</summary>
    public (IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Changed) Since(DatasetManifest before)
    {
        var old = before.Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        var now = Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        return (now.Keys.Where(p => !old.ContainsKey(p)).Order(StringComparer.Ordinal).ToList(),
            old.Keys.Where(p => !now.ContainsKey(p)).Order(StringComparer.Ordinal).ToList(),
            now.Values.Where(e => old.TryGetValue(e.Path, out var o) && o.Sha256 != e.Sha256).Select(e => e.Path).Order(StringComparer.Ordinal).ToList());
    }
}
