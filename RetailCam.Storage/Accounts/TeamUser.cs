using Microsoft.AspNetCore.Identity;

namespace RetailCam.Storage.Accounts;

/// <summary>A member of the team: an Identity user with one role, who an admin can disable without deleting their history.</summary>
public sealed class TeamUser : IdentityUser
{
    public TeamUser() { }

    public TeamUser(string userName) : base(userName) { }

    /// <summary>Disabled users cannot sign in and their tokens stop working.</summary>
    public bool Disabled { get; set; }

    public DateTime CreatedUtc { get; set; }
}

/// <summary>A personal access token for scripts: only its SHA-256 is kept; the token itself is shown once.</summary>
public sealed class AccessTokenEntity
{
    public Guid Id { get; set; }
    public required string UserId { get; set; }
    public required string Name { get; set; }

    /// <summary>Lower-case hex SHA-256 of the whole token.</summary>
    public required string Hash { get; set; }

    /// <summary>The token's first characters, so a user can tell their tokens apart.</summary>
    public required string Prefix { get; set; }

    public DateTime CreatedUtc { get; set; }
    public DateTime? LastUsedUtc { get; set; }
    public DateTime? RevokedUtc { get; set; }
}
