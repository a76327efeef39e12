using Microsoft.Extensions.Options;
using RetailCam.Engine.Hosting;

namespace RetailCam.Web.Services;

/// <summary>Uploaded photos, each stored once on disk under its SHA-256.</summary>
public sealed class PhotoStore(IOptions<EngineOptions> options)
{
    private readonly string folder = Path.Combine(options.Value.ResolvedDataRoot, "uploads");

    public async Task<string> SaveAsync(byte[] bytes, string fileName, CancellationToken cancellationToken)
    {
        var hash = PredictionService.HashOf(bytes);
        var path = PathOf(hash);
        if (File.Exists(path)) return hash;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(temporary, bytes, cancellationToken);
        File.Move(temporary, path, overwrite: true);
        return hash;
    }

    public async Task<byte[]> ReadAsync(string hash, CancellationToken cancellationToken)
    {
        var path = PathOf(hash);
        if (!File.Exists(path)) throw new FileNotFoundException($"No uploaded photo has hash {hash}.");
        return await File.ReadAllBytesAsync(path, cancellationToken);
    }

    public bool Exists(string hash) => IsHash(hash) && File.Exists(PathOf(hash));

    /// <summary>The MIME type from the file's first bytes (uploads are kept without trusting their names).</summary>
    public static string ContentTypeOf(ReadOnlySpan<byte> bytes) => bytes switch
    {
        [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => "image/png",
        [0xFF, 0xD8, ..] => "image/jpeg",
        [(byte)'G', (byte)'I', (byte)'F', ..] => "image/gif",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => "image/webp",
        [(byte)'B', (byte)'M', ..] => "image/bmp",
        [(byte)'I', (byte)'I', 42, 0, ..] or [(byte)'M', (byte)'M', 0, 42, ..] => "image/tiff",
        _ => "application/octet-stream",
    };

    public static bool IsHash(string value) => value.Length == 64 && value.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private string PathOf(string hash)
    {
        if (!IsHash(hash)) throw new ArgumentException("Not a photo hash.", nameof(hash));
        return Path.Combine(folder, hash[..2], hash);
    }
}
