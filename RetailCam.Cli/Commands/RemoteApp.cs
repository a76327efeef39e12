using System.CommandLine;
using System.Net.Http.Headers;

namespace RetailCam.Cli.Commands;

/// <summary>
/// What the verbs that talk to a running app (watch, fuzz, load) share: its address, the personal
/// access token, a client that sends it, and the multipart form POST /api/predict reads.
/// </summary>
internal static class RemoteApp
{
    /// <summary>Where scripts keep their token, so it stays out of the command line and the process list.</summary>
    public const string TokenVariable = "RETAILCAM_TOKEN";

    /// <param name="lead">Words before the description, e.g. what the token goes with.</param>
    public static Option<string?> TokenOption(string lead = "") => new("--token")
    {
        Description = $"{lead}Personal access token (retailcam tokens create NAME); default: the {TokenVariable} environment variable.",
    };

    /// <summary>The token given with <paramref name="option"/>, else the one in <see cref="TokenVariable"/>, else none (an empty one is none).</summary>
    public static string? Token(ParseResult parse, Option<string?> option) =>
        (parse.GetValue(option) ?? Environment.GetEnvironmentVariable(TokenVariable)) is { Length: > 0 } token ? token : null;

    /// <summary>The app's base address from --url; relative API paths resolve against it.</summary>
    public static Uri Address(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"--url must be an http:// or https:// address, not '{text}'.");
        // Relative paths resolve against the last '/', so an app under a path base needs the slash kept.
        return uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri + "/");
    }

    /// <param name="handler">How to connect (null: the default handler); the client owns it.</param>
    public static HttpClient Client(Uri server, string? accessToken, TimeSpan timeout, HttpMessageHandler? handler = null)
    {
        var client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: true);
        client.BaseAddress = server;
        client.Timeout = timeout;
        if (accessToken is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return client;
    }

    /// <summary>What to say when the app answered 401 or 403: sign-in is missing, or the token is no good.</summary>
    public static UnauthorizedAccessException Refused(Uri server, string? accessToken, int status, Exception? inner = null) => new(accessToken is null
        ? $"RetailCam at {server} needs sign-in: pass --token TOKEN (retailcam tokens create NAME) or set {TokenVariable}."
        : $"RetailCam at {server} refused the token ({status}): it is unknown, revoked, or its user is disabled.", inner);

    /// <summary>What to say when nothing answered at the address.</summary>
    public static IOException Unreachable(Uri server, HttpRequestException ex) => new($"cannot reach RetailCam at {server}: {ex.Message}", ex);

    /// <summary>
    /// Every photo a file of the field "images". The type says nothing: the server reads the bytes
    /// (and refuses what they are not), which is what a hostile or mislabelled upload looks like too.
    /// </summary>
    public static MultipartFormDataContent PredictForm(IEnumerable<(string FileName, byte[] Bytes)> photos)
    {
        var form = new MultipartFormDataContent();
        foreach (var (fileName, bytes) in photos)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(content, "images", fileName);
        }
        return form;
    }
}
