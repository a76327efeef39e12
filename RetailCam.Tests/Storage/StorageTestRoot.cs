using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Storage;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.Tests.Storage;

/// <summary>
/// A fresh data root in a temp folder with a real, migrated database, wired exactly as the web app wires
/// it: retailcam.db under the data root, or with a <see cref="PostgresServer"/> a PostgreSQL database of
/// its own (a unique name, created by the initializer as on a first start); deleted or dropped afterwards.
/// </summary>
public sealed class StorageTestRoot : IAsyncLifetime
{
    private readonly PostgresServer? postgres;

    /// <summary>On SQLite.</summary>
    public StorageTestRoot() : this(null) { }

    /// <summary>On PostgreSQL when <paramref name="postgres"/> is given, else on SQLite.</summary>
    public StorageTestRoot(PostgresServer? postgres)
    {
        // A folder that does not exist yet: initialising must create it, as on a first start.
        DataRoot = Path.Combine(Path.GetTempPath(), "retailcam-storage-tests", Guid.NewGuid().ToString("N"), "data");
        this.postgres = postgres;
        if (postgres is null)
        {
            Provider = StorageProvider.Sqlite;
            Services = new ServiceCollection().AddRetailCamStorage(DataRoot).BuildServiceProvider();
        }
        else
        {
            Provider = StorageProvider.Postgres;
            DatabaseName = PostgresServer.NewDatabaseName();
            ConnectionString = postgres.ConnectionStringFor(DatabaseName);
            Services = new ServiceCollection().AddRetailCamStorage(DataRoot, StorageProvider.Postgres, ConnectionString).BuildServiceProvider();
        }
    }

    public StorageProvider Provider { get; }

    /// <summary>PostgreSQL's database and its connection string; null on SQLite.</summary>
    public string? DatabaseName { get; }
    public string? ConnectionString { get; }

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
        if (postgres is not null) await postgres.DropDatabaseAsync(DatabaseName!);
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
