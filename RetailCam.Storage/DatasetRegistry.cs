using Microsoft.EntityFrameworkCore;
using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Layout;

namespace RetailCam.Storage;

/// <summary>A dataset as the app lists it.</summary>
public sealed record DatasetSummary(string Id, string Name, string Folder, bool Registered, DateTime CreatedUtc);

/// <summary>
/// The datasets of the team: created ones live in the data root's datasets/ folder, registered ones
/// stay where they are. Each is edited through a <see cref="DatasetEditor"/> on its folder. Thread-safe.
/// </summary>
public sealed class DatasetRegistry(DataRootLayout layout, IDbContextFactory<RetailCamDbContext> contexts, ImageFileDecoder decoder)
{
    public const int MaxNameLength = 200;

    public async Task<IReadOnlyList<DatasetSummary>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await db.Datasets.AsNoTracking().ToListAsync(cancellationToken);
        return rows.OrderBy(d => d.Name, StringComparer.OrdinalIgnoreCase).Select(Summary).ToList();
    }

    public async Task<DatasetSummary?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!PathSegment.IsValid(id)) return null;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.Datasets.AsNoTracking().SingleOrDefaultAsync(d => d.Id == id, cancellationToken);
        return row is null ? null : Summary(row);
    }

    /// <summary>An empty dataset in a new folder under datasets/, its id made from the name.</summary>
    public async Task<DatasetSummary> CreateAsync(string name, CancellationToken cancellationToken = default)
    {
        name = CheckName(name);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // A folder left under datasets/ by hand is taken too: a new dataset never adopts its photos.
        var id = await FreeIdAsync(db, name, id => Directory.Exists(Path.Combine(layout.DatasetsFolder, id)), cancellationToken);
        var folder = layout.DatasetFolder(id);
        Directory.CreateDirectory(folder);
        var row = new DatasetEntity { Id = id, Name = name, Folder = folder, CreatedUtc = DateTime.UtcNow };
        db.Datasets.Add(row);
        await db.SaveChangesAsync(cancellationToken);
        return Summary(row);
    }

    /// <summary>
    /// An existing tree, its folder already resolved inside a folder root by the caller
    /// (<see cref="FolderRoots.Resolve"/>). A folder registered before is refused.
    /// </summary>
    public async Task<DatasetSummary> RegisterAsync(string name, string resolvedFolder, CancellationToken cancellationToken = default)
    {
        name = CheckName(name);
        var folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(resolvedFolder));
        if (!Directory.Exists(folder)) throw new DatasetEditException($"'{folder}' does not exist.");
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (await db.Datasets.AnyAsync(d => d.Folder == folder, cancellationToken))
            throw new DatasetEditException($"'{folder}' is already a dataset.");
        var id = await FreeIdAsync(db, name, _ => false, cancellationToken);
        var row = new DatasetEntity { Id = id, Name = name, Folder = folder, Registered = true, CreatedUtc = DateTime.UtcNow };
        db.Datasets.Add(row);
        await db.SaveChangesAsync(cancellationToken);
        return Summary(row);
    }

    /// <summary>The editor of a dataset's tree, or null for an unknown id.</summary>
    public async Task<DatasetEditor?> EditorAsync(string id, CancellationToken cancellationToken = default) =>
        await FindAsync(id, cancellationToken) is { } dataset ? new DatasetEditor(dataset.Folder, decoder) : null;

    /// <summary>The name's slug, numbered (-2, -3, …) past the ids in use and those <paramref name="alsoTaken"/> says are.</summary>
    private static async Task<string> FreeIdAsync(RetailCamDbContext db, string name, Func<string, bool> alsoTaken, CancellationToken cancellationToken)
    {
        var taken = (await db.Datasets.Select(d => d.Id).ToListAsync(cancellationToken)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var stem = Slug(name);
        var id = stem;
        for (var n = 2; taken.Contains(id) || alsoTaken(id); n++) id = $"{stem}-{n}";
        return id;
    }

    private static DatasetSummary Summary(DatasetEntity row) => new(row.Id, row.Name, row.Folder, row.Registered, row.CreatedUtc);

    private static string CheckName(string? name)
    {
        name = (name ?? "").Trim();
        if (name.Length == 0) throw new DatasetEditException("A dataset needs a name.");
        if (name.Length > MaxNameLength) throw new DatasetEditException($"A dataset's name may have at most {MaxNameLength} characters.");
        if (name.Any(char.IsControl)) throw new DatasetEditException("A dataset's name may not hold control characters.");
        return name;
    }

    /// <summary>A path segment from a display name: letters and digits kept, runs of anything else one '-'.</summary>
    public static string Slug(string name)
    {
        var chars = new List<char>();
        foreach (var c in name.Normalize(System.Text.NormalizationForm.FormD))
        {
            if (char.IsAsciiLetterOrDigit(c)) chars.Add(char.ToLowerInvariant(c));
            else if (char.GetUnicodeCategory(c) != System.Globalization.UnicodeCategory.NonSpacingMark && chars.Count > 0 && chars[^1] != '-') chars.Add('-');
        }
        var slug = new string(chars.ToArray()).Trim('-');
        if (slug.Length > 64) slug = slug[..64].TrimEnd('-');
        return slug.Length == 0 ? "dataset" : slug;
    }
}
