using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using RetailCam.Web.Security;

namespace RetailCam.Web.Observability;

/// <summary>
/// The configured scrape token (<see cref="MetricsOptions.ScrapeToken"/>) as <c>Authorization: Bearer TOKEN</c>.
/// Only the metrics policy consults this scheme, and its principal holds no team role, so the token
/// opens /metrics and nothing else. It never answers a refusal itself: the team's scheme does, so a
/// stranger gets the same problem details here as anywhere.
/// </summary>
public sealed class ScrapeTokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    IOptions<MetricsOptions> metrics) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "scrape-token";

    /// <summary>The role of a scraper's principal: no team role, so no other endpoint lets it in.</summary>
    public const string ScraperRole = "metrics-scraper";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var expected = metrics.Value.ScrapeToken;
        if (expected.Length == 0 || AccessTokenAuthenticationHandler.TokenOf(Request) is not { Length: > 0 } sent || !SameSecret(sent, expected))
            return Task.FromResult(AuthenticateResult.NoResult());
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, ScraperRole), new Claim(ClaimTypes.Role, ScraperRole)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <summary>Compares digests, so the time taken tells neither where the first difference is nor the token's length.</summary>
    private static bool SameSecret(string sent, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(sent)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => Task.CompletedTask;

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => Task.CompletedTask;
}
