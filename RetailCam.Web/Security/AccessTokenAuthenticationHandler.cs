using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using RetailCam.Storage.Accounts;

namespace RetailCam.Web.Security;

/// <summary>
/// <c>Authorization: Bearer TOKEN</c> with a personal access token (<see cref="AccessTokens"/>), for
/// scripts and the CLI; on the hub also <c>?access_token=</c>, the only way a browser's WebSocket can
/// carry one. A refusal is a problem-details 401 or 403, never a redirect to the login page.
/// </summary>
public sealed class AccessTokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    AccessTokens tokens) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "token";
    public const string TokenIdClaim = "retailcam:token";

    /// <summary>The token a request carries, or null.</summary>
    public static string? TokenOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        if (request.Path.StartsWithSegments("/hubs") && request.Query["access_token"] is { Count: 1 } query) return query.ToString();
        return null;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (TokenOf(Request) is not { Length: > 0 } token) return AuthenticateResult.NoResult();
        var holder = await tokens.AuthenticateAsync(token, Context.RequestAborted);
        if (holder is null) return AuthenticateResult.Fail("The access token is unknown, revoked, or its user is disabled.");
        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, holder.UserId),
            new Claim(ClaimTypes.Name, holder.UserName),
            new Claim(ClaimTypes.Role, holder.Role),
            new Claim(TokenIdClaim, holder.TokenId.ToString()),
        ], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        SignInProblems.WriteAsync(Context, StatusCodes.Status401Unauthorized);

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        SignInProblems.WriteAsync(Context, StatusCodes.Status403Forbidden);
}

/// <summary>The problem-details answers of refused API calls: who is asking is unknown (401), or may not (403).</summary>
public static class SignInProblems
{
    /// <summary>Paths a script or the CLI calls: they get status codes, not the login page.</summary>
    public static bool IsApi(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments("/hubs") || request.Path.StartsWithSegments("/metrics");

    public static Task WriteAsync(HttpContext context, int status)
    {
        if (status == StatusCodes.Status401Unauthorized) context.Response.Headers.WWWAuthenticate = "Bearer";
        var detail = status == StatusCodes.Status401Unauthorized
            ? "Sign in, or send a personal access token as 'Authorization: Bearer TOKEN' (retailcam tokens create NAME)."
            : "Your role may not do this: ask an admin for the trainer or admin role.";
        return Results.Problem(detail, statusCode: status, title: status == StatusCodes.Status401Unauthorized ? "Not signed in" : "Not allowed").ExecuteAsync(context);
    }
}
