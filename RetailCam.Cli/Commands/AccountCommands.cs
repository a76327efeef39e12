using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RetailCam.Storage;
using RetailCam.Storage.Accounts;

namespace RetailCam.Cli.Commands;

/// <summary>
/// retailcam users add NAME --role admin|trainer|viewer --password-stdin · users list ·
/// tokens create NAME [--label L] · tokens list NAME · tokens revoke NAME ID: the team's accounts in the app's database under the configured
/// data root, for scripts and CI; safe while the app runs (the database is shared, in WAL mode).
/// </summary>
internal static class AccountCommands
{
    public static Command Users()
    {
        var name = new Argument<string>("name") { Description = "The user name to sign in with." };
        var role = new Option<string>("--role") { Description = "viewer, trainer or admin.", Required = true };
        role.AcceptOnlyFromAmong([.. TeamRoles.All]);
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from the first line of standard input (so it stays out of the shell history)." };
        var host = new CliHost { WithStorage = true };
        var json = CliRunner.JsonOption();
        var add = new Command("add", $"Add a team member (password of at least {StorageServiceCollectionExtensions.TeamPasswordLength} characters).") { name, role, passwordStdin, json };
        add.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            if (!parse.GetValue(passwordStdin)) throw new ArgumentException("give the password on standard input with --password-stdin.");
            var password = (await Console.In.ReadLineAsync(token))?.TrimEnd('\r') ?? "";
            using var engine = await OpenAsync(host, parse, token);
            await using var scope = engine.Services.CreateAsyncScope();
            var member = await scope.ServiceProvider.GetRequiredService<TeamAccounts>().AddAsync(parse.GetValue(name)!, parse.GetValue(role)!, password);
            if (parse.GetValue(json)) CliRunner.WriteJson(new { user = member.UserName, role = member.Role });
            else Console.WriteLine($"added {member.UserName} ({member.Role})");
            return 0;
        }, cancellationToken));

        var listJson = CliRunner.JsonOption();
        var list = new Command("list", "List the team's members and their roles.") { listJson };
        list.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            using var engine = await OpenAsync(host, parse, token);
            await using var scope = engine.Services.CreateAsyncScope();
            var members = await scope.ServiceProvider.GetRequiredService<TeamAccounts>().ListAsync();
            if (parse.GetValue(listJson))
                CliRunner.WriteJson(new { users = members.Select(m => new { user = m.UserName, role = m.Role, disabled = m.Disabled }) });
            else
                foreach (var m in members) Console.WriteLine($"{m.UserName}\t{m.Role}{(m.Disabled ? "\tdisabled" : "")}");
            return 0;
        }, cancellationToken));
        return new Command("users", "Manage the team's members.") { add, list };
    }

    public static Command Tokens()
    {
        var name = new Argument<string>("name") { Description = "The user the token speaks for." };
        var label = new Option<string>("--label") { Description = "What the token is for, to tell it apart in the list.", DefaultValueFactory = _ => "cli" };
        var host = new CliHost { WithStorage = true };
        var json = CliRunner.JsonOption();
        var create = new Command("create", "Create a personal access token (Authorization: Bearer TOKEN); it is printed once and stored hashed.") { name, label, json };
        create.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            using var engine = await OpenAsync(host, parse, token);
            var (secret, info) = await engine.Services.GetRequiredService<AccessTokens>().CreateAsync(parse.GetValue(name)!, parse.GetValue(label)!, token);
            if (parse.GetValue(json)) CliRunner.WriteJson(new { token = secret, id = info.Id, user = parse.GetValue(name) });
            else Console.WriteLine(secret);
            return 0;
        }, cancellationToken));
        var listName = new Argument<string>("name") { Description = "The user whose tokens to list." };
        var listJson = CliRunner.JsonOption();
        var list = new Command("list", "List a user's tokens (never the tokens themselves: their first characters, names and use).") { listName, listJson };
        list.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            using var engine = await OpenAsync(host, parse, token);
            var tokens = await engine.Services.GetRequiredService<AccessTokens>().ListAsync(await UserIdAsync(engine, parse.GetValue(listName)!), token);
            if (parse.GetValue(listJson))
                CliRunner.WriteJson(new { tokens = tokens.Select(t => new { id = t.Id, label = t.Name, prefix = t.Prefix, created = t.CreatedUtc, lastUsed = t.LastUsedUtc, revoked = t.Revoked }) });
            else
                foreach (var t in tokens) Console.WriteLine($"{t.Id}\t{t.Prefix}…\t{t.Name}\t{t.CreatedUtc:yyyy-MM-dd}{(t.Revoked ? "\trevoked" : "")}");
            return 0;
        }, cancellationToken));

        var revokeName = new Argument<string>("name") { Description = "The user the token belongs to." };
        var revokeId = new Argument<Guid>("id") { Description = "The token's id, as `tokens list` shows it." };
        var revoke = new Command("revoke", "Revoke a token: it stops working at once.") { revokeName, revokeId };
        revoke.SetAction((parse, cancellationToken) => CliRunner.RunAsync(async token =>
        {
            using var engine = await OpenAsync(host, parse, token);
            var userId = await UserIdAsync(engine, parse.GetValue(revokeName)!);
            if (!await engine.Services.GetRequiredService<AccessTokens>().RevokeAsync(userId, parse.GetValue(revokeId), token))
                throw new ArgumentException($"{parse.GetValue(revokeName)} holds no token {parse.GetValue(revokeId)}.");
            Console.WriteLine($"revoked {parse.GetValue(revokeId)}");
            return 0;
        }, cancellationToken));
        return new Command("tokens", "Personal access tokens for scripts and the CLI.") { create, list, revoke };
    }

    private static async Task<string> UserIdAsync(IHost engine, string userName)
    {
        await using var scope = engine.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<TeamAccounts>().FindAsync(userName))?.Id
            ?? throw new ArgumentException($"There is no user '{userName}'.");
    }

    /// <summary>The engine host with the app's database, created or migrated as the app would at its start.</summary>
    private static async Task<IHost> OpenAsync(CliHost host, ParseResult parse, CancellationToken cancellationToken)
    {
        var engine = host.Build(parse);
        await StorageInitializer.InitializeAsync(engine.Services, cancellationToken);
        return engine;
    }
}
