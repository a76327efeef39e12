using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Storage;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Storage;

/// <summary>
/// A fresh data root in a temp folder with a real, migrated retailcam.db, wired exactly as the web
/// app wires it; deleted afterwards.
/// </summary>
public sealed class StorageTestRoot : IAsyncLifetime
{
    public StorageTestRoot()
    {
        // A folder that does not exist yet: initialising must create it, as on a first start.
        DataRoot = Path.Combine(Path.GetTempPath(), "retailcam-storage-tests", Guid.NewGuid().ToString("N"), "data");
        Services = new ServiceCollection().AddRetailCamStorage(DataRoot).BuildServiceProvider();
    }

    public string DataRoot { get; }
    public ServiceProvider Services { get; }
    public UploadStore Uploads => Services.GetRequiredService<UploadStore>();
    public PredictionHistory Predictions => Services.GetRequiredService<PredictionHistory>();
    public RunHistory Runs => Services.GetRequiredService<RunHistory>();

    public RetailCamDbContext OpenContext() => Services.GetRequiredService<IDbContextFactory<RetailCamDbContext>>().CreateDbContext();

    public Task InitializeAsync() => StorageInitializer.InitializeAsync(Services);

    public async Task DisposeAsync()
    {
        await Services.DisposeAsync();
        // Pooled connections keep the database files open; let go of them before deleting.
        SqliteConnection.ClearAllPools();
        var root = Path.GetDirectoryName(DataRoot)!;
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    /// <summary>A small PNG whose bytes depend on <paramref name="seed"/>, so different seeds give different uploads.</summary>
    public static byte[] Png(int seed, int width = 12, int height = 8)
    {
        var random = new Random(seed);
        using var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            image[x, y] = new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        return stream.ToArray();
    }
}
