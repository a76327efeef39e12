using RetailCam.Cli.Commands;

namespace RetailCam.Cli.Load;

/// <summary>
/// A load as the command line asked for it, checked against bounds that keep it a measurement of this
/// machine's app rather than a way to flood something: every value has a ceiling, and the address is loopback.
/// </summary>
internal sealed record LoadSettings(Uri Server, int Clients, TimeSpan Duration, int PhotosPerRequest, int MaxRequests, TimeSpan RequestTimeout)
{
    public const int MaxClients = 64;
    public const int MaxSeconds = 600;
    /// <summary>The app's own default for photos in one request (RetailCam:Limits:PredictFilesPerRequest).</summary>
    public const int MaxPhotosPerRequest = 50;
    public const int MaxRequestsCeiling = 1_000_000;
    public const int MaxTimeoutSeconds = 300;

    /// <summary>The settings, or a <see cref="UsageException"/> naming the first value that is out of bounds or an address that is not this machine.</summary>
    public static async Task<LoadSettings> CheckAsync(string url, int clients, int seconds, int photosPerRequest, int maxRequests, int timeoutSeconds,
        CancellationToken cancellationToken = default)
    {
        Uri server;
        try
        {
            server = RemoteApp.Address(url);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }
        InBounds("--clients", clients, 1, MaxClients);
        InBounds("--seconds", seconds, 1, MaxSeconds);
        InBounds("--per-request", photosPerRequest, 1, MaxPhotosPerRequest);
        InBounds("--max-requests", maxRequests, 1, MaxRequestsCeiling);
        InBounds("--timeout", timeoutSeconds, 1, MaxTimeoutSeconds);
        await LoopbackOnly.AddressesAsync(server.IdnHost, cancellationToken);
        return new LoadSettings(server, clients, TimeSpan.FromSeconds(seconds), photosPerRequest, maxRequests, TimeSpan.FromSeconds(timeoutSeconds));
    }

    private static void InBounds(string option, int value, int min, int max)
    {
        if (value < min || value > max) throw new UsageException($"{option} must lie in {min}–{max}, not {value}.");
    }
}
