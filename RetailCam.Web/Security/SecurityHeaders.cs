namespace RetailCam.Web.Security;

/// <summary>
/// Headers on every answer that keep a browser from being turned against the team: no framing by
/// other sites, no sniffing a photo into a script, scripts and connections to this app only.
/// </summary>
public static class SecurityHeaders
{
    /// <summary>
    /// Scripts only from this app, and the one inline script the page needs (Blazor's import map) by a
    /// nonce of this answer; MudBlazor and Plotly set inline styles, and photos and maps are shown as blobs
    /// and data URLs, so those stay allowed. The circuit and the hub are WebSockets to this app.
    /// </summary>
    public static string ContentSecurityPolicy(string nonce) =>
        $"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
        "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    private const string NonceKey = "retailcam:csp-nonce";

    /// <summary>The nonce of this answer's inline scripts.</summary>
    public static string NonceOf(HttpContext context) => context.Items[NonceKey] as string ?? "";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var nonce = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        context.Items[NonceKey] = nonce;
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers.ContentSecurityPolicy = ContentSecurityPolicy(nonce);
            return Task.CompletedTask;
        });
        await next();
    });
}
