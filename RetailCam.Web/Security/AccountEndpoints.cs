using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using RetailCam.Storage.Accounts;

namespace RetailCam.Web.Security;

/// <summary>
/// The form posts of the account pages: sign in (with lock-out), sign out, change password, and the
/// first-start setup of the admin, which only a visitor on this machine may do while no user exists.
/// Antiforgery is checked on each (form-bound minimal APIs require it).
/// </summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var account = endpoints.MapGroup("/account").ExcludeFromDescription();

        account.MapPost("/login", async ([FromForm] string? userName, [FromForm] string? password, [FromForm] string? returnUrl, SignInManager<TeamUser> signIn) =>
        {
            var back = SafeReturn(returnUrl);
            if (string.IsNullOrWhiteSpace(userName) || string.IsNullOrEmpty(password)) return LoginAgain("missing", back, userName);
            var result = await signIn.PasswordSignInAsync(userName.Trim(), password, isPersistent: false, lockoutOnFailure: true);
            if (result.Succeeded) return Results.LocalRedirect(back);
            return LoginAgain(result.IsLockedOut ? "locked" : result.IsNotAllowed ? "disabled" : "invalid", back, userName);
        }).AllowAnonymous();

        account.MapPost("/logout", async (SignInManager<TeamUser> signIn) =>
        {
            await signIn.SignOutAsync();
            return Results.LocalRedirect("/account/login?signedOut=1");
        });

        account.MapPost("/password", async ([FromForm] string? current, [FromForm] string? next, HttpContext context, UserManager<TeamUser> users, SignInManager<TeamUser> signIn) =>
        {
            var user = await users.GetUserAsync(context.User);
            if (user is null) return Results.LocalRedirect("/account/login");
            var result = await users.ChangePasswordAsync(user, current ?? "", next ?? "");
            if (!result.Succeeded)
                return Results.LocalRedirect($"/account/password?error={Uri.EscapeDataString(string.Join(" ", result.Errors.Select(e => e.Description)))}");
            await signIn.RefreshSignInAsync(user);
            return Results.LocalRedirect("/account/password?changed=1");
        });

        account.MapPost("/setup", async ([FromForm] string? userName, [FromForm] string? password, HttpContext context, TeamAccounts accounts, SignInManager<TeamUser> signIn) =>
        {
            if (!FirstStart.MayRunFrom(context.Connection.RemoteIpAddress))
                return Results.Problem("The first admin can only be created from the machine the app runs on (or with `retailcam users add`).", statusCode: StatusCodes.Status403Forbidden);
            if (await accounts.AnyAsync()) return Results.LocalRedirect("/account/login");
            try
            {
                var member = await accounts.AddAsync(userName ?? "", TeamRoles.Admin, password ?? "");
                await signIn.PasswordSignInAsync(member.UserName, password!, isPersistent: false, lockoutOnFailure: false);
                return Results.LocalRedirect("/");
            }
            catch (AccountException ex)
            {
                return Results.LocalRedirect($"/setup?error={Uri.EscapeDataString(ex.Message)}");
            }
        }).AllowAnonymous();
        return endpoints;
    }

    /// <summary>Only a path of this app: an absolute or protocol-relative address would make the login page an open redirect.</summary>
    public static string SafeReturn(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) ? url : "/";

    private static IResult LoginAgain(string error, string returnUrl, string? userName) =>
        Results.LocalRedirect($"/account/login?error={error}&returnUrl={Uri.EscapeDataString(returnUrl)}&user={Uri.EscapeDataString(userName ?? "")}");
}

/// <summary>The first-start rule: with no user yet, only a visitor on this machine may create the admin.</summary>
public static class FirstStart
{
    public static bool MayRunFrom(IPAddress? remote) => remote is not null && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
}
