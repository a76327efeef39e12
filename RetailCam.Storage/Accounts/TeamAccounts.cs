using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace RetailCam.Storage.Accounts;

/// <summary>One member as the admin page and the CLI list them.</summary>
public sealed record TeamMember(string Id, string UserName, string Role, bool Disabled, bool LockedOut, DateTime CreatedUtc);

/// <summary>Refused account changes: a name taken, a weak password, an unknown role or user. The message is for the user.</summary>
public sealed class AccountException(string message) : Exception(message);

/// <summary>
/// The team's accounts over Identity's <see cref="UserManager{TUser}"/>: each member holds exactly one
/// role. Used by the admin page, the first-start setup and <c>retailcam users add</c>, all against the
/// same database, so the CLI can add a user while the app runs.
/// </summary>
public sealed class TeamAccounts(UserManager<TeamUser> users, RoleManager<IdentityRole> roles)
{
    public Task<bool> AnyAsync(CancellationToken cancellationToken = default) => users.Users.AnyAsync(cancellationToken);

    public async Task<TeamMember> AddAsync(string userName, string role, string password)
    {
        if (!TeamRoles.IsRole(role)) throw new AccountException($"Unknown role '{role}': one of {string.Join(", ", TeamRoles.All)}.");
        if (string.IsNullOrWhiteSpace(userName)) throw new AccountException("A user needs a name.");
        await EnsureRolesAsync();
        var user = new TeamUser(userName.Trim()) { CreatedUtc = DateTime.UtcNow };
        Check(await users.CreateAsync(user, password));
        Check(await users.AddToRoleAsync(user, role.ToLowerInvariant()));
        return await DescribeAsync(user);
    }

    public async Task<IReadOnlyList<TeamMember>> ListAsync()
    {
        var all = await users.Users.OrderBy(u => u.UserName).ToListAsync();
        var members = new List<TeamMember>(all.Count);
        foreach (var user in all) members.Add(await DescribeAsync(user));
        return members;
    }

    public async Task<TeamMember> SetRoleAsync(string userName, string role)
    {
        if (!TeamRoles.IsRole(role)) throw new AccountException($"Unknown role '{role}': one of {string.Join(", ", TeamRoles.All)}.");
        var user = await RequireAsync(userName);
        await EnsureRolesAsync();
        await RefuseLosingTheLastAdminAsync(user, keepsAdmin: role == TeamRoles.Admin);
        Check(await users.RemoveFromRolesAsync(user, await users.GetRolesAsync(user)));
        Check(await users.AddToRoleAsync(user, role.ToLowerInvariant()));
        // Signed-in sessions of this user pick up the new role at their next validation.
        Check(await users.UpdateSecurityStampAsync(user));
        return await DescribeAsync(user);
    }

    public async Task<TeamMember> SetDisabledAsync(string userName, bool disabled)
    {
        var user = await RequireAsync(userName);
        if (disabled) await RefuseLosingTheLastAdminAsync(user, keepsAdmin: false);
        user.Disabled = disabled;
        Check(await users.UpdateAsync(user));
        Check(await users.UpdateSecurityStampAsync(user));
        return await DescribeAsync(user);
    }

    public async Task<TeamMember?> FindAsync(string userName) =>
        await users.FindByNameAsync(userName) is { } user ? await DescribeAsync(user) : null;

    /// <summary>The role a user holds (the highest, should Identity hold several), or null.</summary>
    public async Task<string?> RoleOfAsync(TeamUser user) =>
        TeamRoles.Highest(await users.GetRolesAsync(user));

    private async Task<TeamUser> RequireAsync(string userName) =>
        await users.FindByNameAsync(userName) ?? throw new AccountException($"There is no user '{userName}'.");

    /// <summary>A team without an enabled admin could never manage its users again.</summary>
    private async Task RefuseLosingTheLastAdminAsync(TeamUser user, bool keepsAdmin)
    {
        if (keepsAdmin || await RoleOfAsync(user) != TeamRoles.Admin) return;
        var admins = (await users.GetUsersInRoleAsync(TeamRoles.Admin)).Count(u => !u.Disabled && u.Id != user.Id);
        if (admins == 0) throw new AccountException($"'{user.UserName}' is the last admin: make another user admin first.");
    }

    private async Task EnsureRolesAsync()
    {
        foreach (var role in TeamRoles.All)
            if (!await roles.RoleExistsAsync(role))
                Check(await roles.CreateAsync(new IdentityRole(role)));
    }

    private async Task<TeamMember> DescribeAsync(TeamUser user) =>
        new(user.Id, user.UserName!, await RoleOfAsync(user) ?? "", user.Disabled, await users.IsLockedOutAsync(user), user.CreatedUtc);

    private static void Check(IdentityResult result)
    {
        if (!result.Succeeded) throw new AccountException(string.Join(" ", result.Errors.Select(e => e.Description)));
    }
}
