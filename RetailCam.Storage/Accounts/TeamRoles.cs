namespace RetailCam.Storage.Accounts;

/// <summary>
/// The three roles of a catalogue team, each including the one before: a viewer predicts, compares
/// and watches; a trainer also builds datasets, files, reviews and runs training; an admin also
/// manages users, deletes runs and datasets, and changes settings.
/// </summary>
public static class TeamRoles
{
    public const string Viewer = "viewer";
    public const string Trainer = "trainer";
    public const string Admin = "admin";

    /// <summary>Lowest first.</summary>
    public static readonly IReadOnlyList<string> All = [Viewer, Trainer, Admin];

    /// <summary>The roles that may do what <paramref name="role"/> may (itself and those above it).</summary>
    public static string[] AtLeast(string role)
    {
        var index = Rank(role);
        return index < 0 ? throw new ArgumentException($"Unknown role '{role}': one of {string.Join(", ", All)}.", nameof(role)) : All.Skip(index).ToArray();
    }

    /// <summary>0 for viewer, 1 for trainer, 2 for admin, −1 for anything else.</summary>
    public static int Rank(string? role) => role is null ? -1 : All.ToList().IndexOf(role.ToLowerInvariant());

    public static bool IsRole(string? role) => Rank(role) >= 0;

    /// <summary>The highest of the roles Identity holds for a member (one, unless edited by hand), or null.</summary>
    public static string? Highest(IEnumerable<string?> roles) => roles.OfType<string>().OrderByDescending(Rank).FirstOrDefault();
}
