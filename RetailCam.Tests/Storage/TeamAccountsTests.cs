using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Storage.Accounts;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Storage;

/// <summary>The team's accounts and tokens on a real, migrated database, SQLite and PostgreSQL.</summary>
public abstract class TeamAccountsTests : IAsyncLifetime
{
    private const string Password = "a long enough phrase";
    private readonly StorageTestRoot root;

    protected TeamAccountsTests(StorageTestRoot root) => this.root = root;

    public Task InitializeAsync() => root.InitializeAsync();
    public Task DisposeAsync() => root.DisposeAsync();

    private async Task<T> WithAccountsAsync<T>(Func<TeamAccounts, Task<T>> action)
    {
        await using var scope = root.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<TeamAccounts>());
    }

    private AccessTokens Tokens => root.Services.GetRequiredService<AccessTokens>();

    [Fact]
    public async Task A_member_holds_one_role_and_names_passwords_and_roles_are_checked()
    {
        Assert.False(await WithAccountsAsync(a => a.AnyAsync()));
        var ada = await WithAccountsAsync(a => a.AddAsync("ada", "admin", Password));
        Assert.Equal(("ada", TeamRoles.Admin, false), (ada.UserName, ada.Role, ada.Disabled));
        await WithAccountsAsync(a => a.AddAsync("bob", "viewer", Password));
        Assert.Equal(TeamRoles.Trainer, (await WithAccountsAsync(a => a.SetRoleAsync("bob", "trainer"))).Role);
        Assert.Equal(["ada", "bob"], (await WithAccountsAsync(a => a.ListAsync())).Select(m => m.UserName));

        await Assert.ThrowsAsync<AccountException>(() => WithAccountsAsync(a => a.AddAsync("ada", "viewer", Password)));
        var weak = await Assert.ThrowsAsync<AccountException>(() => WithAccountsAsync(a => a.AddAsync("cy", "viewer", "short")));
        Assert.Contains("at least 10", weak.Message);
        await Assert.ThrowsAsync<AccountException>(() => WithAccountsAsync(a => a.AddAsync("cy", "owner", Password)));
        await Assert.ThrowsAsync<AccountException>(() => WithAccountsAsync(a => a.SetRoleAsync("nobody", "viewer")));
    }

    [Fact]
    public async Task Members_are_listed_by_the_code_points_of_their_names_on_every_database()
    {
        foreach (var name in new[] { "bob", "Zoe", "eve", "Ada" })
            await WithAccountsAsync(a => a.AddAsync(name, "viewer", Password));

        // Upper case before lower case, as SQLite compares text; a linguistic locale would give Ada, bob, eve, Zoe.
        Assert.Equal(["Ada", "Zoe", "bob", "eve"], (await WithAccountsAsync(a => a.ListAsync())).Select(m => m.UserName));
    }

    [Fact]
    public async Task A_lockout_end_given_with_any_offset_is_kept_as_the_same_instant()
    {
        await WithAccountsAsync(a => a.AddAsync("ada", "admin", Password));
        var end = new DateTimeOffset(2099, 1, 1, 12, 0, 0, TimeSpan.FromHours(2));
        await using (var scope = root.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<TeamUser>>();
            var user = await users.FindByNameAsync("ada");
            Assert.True((await users.SetLockoutEndDateAsync(user!, end)).Succeeded);
        }

        await using (var scope = root.Services.CreateAsyncScope())
        {
            var user = await scope.ServiceProvider.GetRequiredService<UserManager<TeamUser>>().FindByNameAsync("ada");
            Assert.Equal(end.UtcDateTime, user!.LockoutEnd!.Value.UtcDateTime);
            Assert.Equal(DateTimeKind.Utc, user.CreatedUtc.Kind);
        }
        Assert.True((await WithAccountsAsync(a => a.FindAsync("ada")))!.LockedOut);
    }

    [Fact]
    public async Task The_last_admin_can_be_neither_demoted_nor_disabled()
    {
        await WithAccountsAsync(a => a.AddAsync("ada", "admin", Password));
        var demoted = await Assert.ThrowsAsync<AccountException>(() => WithAccountsAsync(a => a.SetRoleAsync("ada", "viewer")));
        Assert.Contains("last admin", demoted.Message);
        await Assert.ThrowsAsync<AccountException>(() => WithAccountsAsync(a => a.SetDisabledAsync("ada", true)));
        await WithAccountsAsync(a => a.AddAsync("eve", "admin", Password));
        Assert.True((await WithAccountsAsync(a => a.SetDisabledAsync("ada", true))).Disabled);
    }

    [Fact]
    public async Task A_token_is_kept_only_as_its_hash_and_stops_working_when_revoked_or_its_user_is_disabled()
    {
        await WithAccountsAsync(a => a.AddAsync("ada", "admin", Password));
        await WithAccountsAsync(a => a.AddAsync("tom", "trainer", Password));
        var (token, info) = await Tokens.CreateAsync("tom", "nightly import");
        Assert.StartsWith(AccessTokens.Prefix, token);
        Assert.True(token.Length >= 40);
        await using (var db = root.OpenContext())
            Assert.DoesNotContain(db.AccessTokens.AsEnumerable(), t => t.Hash.Contains(token[3..], StringComparison.Ordinal) || t.Hash == token);

        var holder = await Tokens.AuthenticateAsync(token);
        Assert.Equal(("tom", TeamRoles.Trainer, info.Id), (holder?.UserName, holder?.Role, holder?.TokenId));
        Assert.Null(await Tokens.AuthenticateAsync(token + "x"));
        Assert.Null(await Tokens.AuthenticateAsync("Bearer " + token));

        var (second, secondInfo) = await Tokens.CreateAsync("tom", "laptop");
        Assert.True(await Tokens.RevokeAsync(holder!.UserId, secondInfo.Id));
        Assert.Null(await Tokens.AuthenticateAsync(second));
        Assert.NotNull(await Tokens.AuthenticateAsync(token));

        await WithAccountsAsync(a => a.SetDisabledAsync("tom", true));
        Assert.Null(await Tokens.AuthenticateAsync(token));
        await Assert.ThrowsAsync<AccountException>(() => Tokens.CreateAsync("tom", "again"));
        await Assert.ThrowsAsync<AccountException>(() => Tokens.CreateAsync("nobody", "x"));
        Assert.Equal(2, (await Tokens.ListAsync(holder.UserId)).Count);
    }
}

public sealed class SqliteTeamAccountsTests() : TeamAccountsTests(new StorageTestRoot());

[Collection(PostgresCollection.Name)]
public sealed class PostgresTeamAccountsTests(PostgresServer postgres) : TeamAccountsTests(new StorageTestRoot(postgres));
