namespace RetailCam.Engine.Data;

/// <summary>
/// The folders a browser user may point the app at. A path is taken relative to one root and must
/// stay inside it: no "..", no absolute paths, no symbolic link leading out.
/// </summary>
public sealed class FolderRoots
{
    public FolderRoots(IEnumerable<string> roots)
    {
        Roots = roots.Where(r => !string.IsNullOrWhiteSpace(r)).Select(r => Path.TrimEndingDirectorySeparator(Path.GetFullPath(r))).Distinct().ToList();
        if (Roots.Count == 0) throw new ArgumentException("At least one folder root is needed.", nameof(roots));
    }

    public IReadOnlyList<string> Roots { get; }

    /// <summary>The full path of <paramref name="relative"/> under root number <paramref name="rootIndex"/>, or an error a user can read.</summary>
    public string Resolve(int rootIndex, string? relative)
    {
        if (rootIndex < 0 || rootIndex >= Roots.Count) throw new UnauthorizedAccessException("Unknown root folder.");
        var root = Roots[rootIndex];
        relative = (relative ?? "").Trim().Replace('\\', '/');
        if (Path.IsPathRooted(relative) || relative.StartsWith('~'))
            throw new UnauthorizedAccessException("Give a path relative to the chosen root, not an absolute one.");
        if (relative.Split('/').Any(part => part == ".."))
            throw new UnauthorizedAccessException("'..' is not allowed: stay inside the chosen root.");
        var full = Path.GetFullPath(Path.Combine(root, relative));
        if (!IsInside(root, full)) throw new UnauthorizedAccessException("That path leads outside the chosen root.");
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"'{relative}' does not exist under the chosen root.");
        // A symbolic link anywhere on the way (root/a -> /etc, then a/ssl) may lead anywhere: judge where every component really leads.
        if (!IsInside(RealPath(root), RealPath(full)))
            throw new UnauthorizedAccessException("That folder is reached through a link leading outside the chosen root.");
        return full;
    }

    /// <summary>The path with every symbolic link on it followed, component by component (as realpath(3) does).</summary>
    public static string RealPath(string path) => RealPath(path, depth: 0);

    private static string RealPath(string path, int depth)
    {
        // Links that point at each other would otherwise never end.
        if (depth > 40) throw new UnauthorizedAccessException("Too many levels of symbolic links.");
        var full = Path.GetFullPath(path);
        var resolved = Path.GetPathRoot(full)!;
        foreach (var part in full[resolved.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(resolved, part);
            // A link's target is relative to the folder holding the link, and may pass through links itself.
            resolved = new FileInfo(next).LinkTarget is { } target ? RealPath(Path.GetFullPath(target, resolved), depth + 1) : next;
        }
        return Path.TrimEndingDirectorySeparator(resolved);
    }

    /// <summary>Sub-folders of a folder under a root, relative to the root, for pickers.</summary>
    public IReadOnlyList<string> SubFolders(int rootIndex, string? relative, int limit = 200)
    {
        var folder = Resolve(rootIndex, relative);
        return Directory.EnumerateDirectories(folder)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .Select(d => Path.GetRelativePath(Roots[rootIndex], d).Replace('\\', '/'))
            .Order(StringComparer.Ordinal).Take(limit).ToList();
    }

    private static bool IsInside(string root, string path) =>
        path == root || path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
