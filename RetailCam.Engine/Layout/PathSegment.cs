using System.Text.RegularExpressions;

namespace RetailCam.Engine.Layout;

/// <summary>An id or file name that was refused as a path segment.</summary>
public sealed class InvalidPathSegmentException(string message) : ArgumentException(message);

/// <summary>
/// The one rule for ids that become path segments (run ids, model names, snapshot file names):
/// ASCII letters, digits, '.', '_', '-' and inner spaces (folders placed by hand), starting with a letter
/// or digit, at most 128 characters. That excludes separators, "..", empty names and control characters;
/// joined paths are checked once more against their root, so no id can reach outside it.
/// </summary>
public static partial class PathSegment
{
    public const int MaxLength = 128;

    [GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9._ -]{0,126}[A-Za-z0-9._-])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Allowed();

    public static bool IsValid(string? segment) => segment is not null && Allowed().IsMatch(segment);

    /// <summary>Returns <paramref name="segment"/> when it is a valid path segment; throws naming <paramref name="what"/> otherwise.</summary>
    public static string Check(string? segment, string what)
    {
        if (IsValid(segment)) return segment!;
        var shown = segment is null ? "nothing" : $"'{(segment.Length > 40 ? segment[..40] + "…" : segment)}'";
        throw new InvalidPathSegmentException(
            $"{shown} is not a valid {what}: use 1–{MaxLength} letters, digits, '.', '_', '-' or inner spaces, starting with a letter or digit.");
    }

    /// <summary>Joins a checked segment to a root and proves the result stays directly inside it.</summary>
    public static string Join(string root, string segment, string what)
    {
        var fullRoot = Path.GetFullPath(root);
        var joined = Path.GetFullPath(Path.Combine(fullRoot, Check(segment, what)));
        if (!string.Equals(Path.GetDirectoryName(joined), fullRoot.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            throw new InvalidPathSegmentException($"'{segment}' resolves outside {fullRoot}.");
        return joined;
    }
}
