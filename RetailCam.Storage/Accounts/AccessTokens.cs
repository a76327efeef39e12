using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace RetailCam.Storage.Accounts;

/// <summary>A token as its owner sees it in a list: never the token itself.</summary>
public sealed record AccessTokenInfo(Guid Id, string Name, string Prefix, DateTime CreatedUtc, DateTime? LastUsedUtc, bool Revoked);

/// <summary>Who a valid token speaks for.</summary>
public sealed record TokenHolder(string UserId, string UserName, string Role, Guid TokenId);

/// <summary>
/// Personal access tokens for scripts and the CLI (<c>Authorization: Bearer TOKEN</c>). A token is 32
/// random bytes shown once; the database keeps its SHA-256 only, so a copy of the database gives
/// no one a working token. A token of a disabled user, or a revoked one, authenticates no one.
/// </summary>
public sealed class AccessTokens(IDbContextFactory<RetailCamDbContext> contexts)
{
    public const string Prefix = "rc_";

    /// <summary>Last-used times are written at most this often per token, so every request is not a write.</summary>
    private static readonly TimeSpan UseRecordInterval = TimeSpan.FromMinutes(1);

    public async Task<(string Token, AccessTokenInfo Info)> CreateAsync(string userName, string name, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100) throw new AccountException("A token needs a name of at most 100 characters.");
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var normalised = userName.ToUpperInvariant();
        var user = await db.Users.SingleOrDefaultAsync(u => u.NormalizedUserName == normalised, cancellationToken)
            ?? throw new AccountException($"There is no user '{userName}'.");
        if (user.Disabled) throw new AccountException($"'{userName}' is disabled.");
        var token = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var row = new AccessTokenEntity
        {
            Id = Guid.NewGuid(),
            UserId = user.Id,
            Name = name.Trim(),
            Hash = Hash(token),
            Prefix = token[..10],
            CreatedUtc = DateTime.UtcNow,
        };
        db.AccessTokens.Add(row);
        await db.SaveChangesAsync(cancellationToken);
        return (token, Info(row));
    }

    /// <summary>The holder of a valid token, or null for an unknown, revoked or disabled one.</summary>
    public async Task<TokenHolder?> AuthenticateAsync(string token, CancellationToken cancellationToken = default)
    {
        if (!token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length > 100) return null;
        var hash = Hash(token);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.AccessTokens.SingleOrDefaultAsync(t => t.Hash == hash, cancellationToken);
        if (row is null || row.RevokedUtc is not null) return null;
        var user = await db.Users.SingleOrDefaultAsync(u => u.Id == row.UserId, cancellationToken);
        if (user is null || user.Disabled) return null;
        var role = await (from link in db.UserRoles
                          join r in db.Roles on link.RoleId equals r.Id
                          where link.UserId == user.Id
                          select r.Name).ToListAsync(cancellationToken);
        var highest = TeamRoles.Highest(role);
        if (highest is null) return null;
        if (row.LastUsedUtc is null || DateTime.UtcNow - row.LastUsedUtc > UseRecordInterval)
        {
            row.LastUsedUtc = DateTime.UtcNow;
            await db.SaveChangesAsync(cancellationToken);
        }
        return new TokenHolder(user.Id, user.UserName!, highest, row.Id);
    }

    public async Task<IReadOnlyList<AccessTokenInfo>> ListAsync(string userId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await db.AccessTokens.AsNoTracking().Where(t => t.UserId == userId).ToListAsync(cancellationToken);
        return rows.OrderByDescending(t => t.CreatedUtc).Select(Info).ToList();
    }

    /// <summary>Revokes one of the user's tokens; false when they hold no such token.</summary>
    public async Task<bool> RevokeAsync(string userId, Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.AccessTokens.SingleOrDefaultAsync(t => t.Id == id && t.UserId == userId, cancellationToken);
        if (row is null) return false;
        row.RevokedUtc ??= DateTime.UtcNow;
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static AccessTokenInfo Info(AccessTokenEntity t) => new(t.Id, t.Name, t.Prefix, t.CreatedUtc, t.LastUsedUtc, t.RevokedUtc is not null);
}
