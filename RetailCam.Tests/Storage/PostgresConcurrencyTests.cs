using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RetailCam.Engine.Training;
using RetailCam.Storage;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Storage;

/// <summary>
/// What several processes sharing one PostgreSQL database do at once: start together (each migrating), and
/// write the same key in the same moment. A clash is staged exactly: another writer's row waits uncommitted
/// in an open transaction, the store's insert is seen waiting on it, then the other writer commits.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresConcurrencyTests(PostgresServer postgres) : IAsyncLifetime
{
    private static readonly DateTime Created = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);
    private readonly StorageTestRoot root = new(postgres);

    public Task InitializeAsync() => root.InitializeAsync();
    public Task DisposeAsync() => root.DisposeAsync();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Three_processes_initialising_one_fresh_database_at_once_all_succeed_and_migrate_it_once(bool provisioned)
    {
        var database = PostgresServer.NewDatabaseName();
        var connectionString = postgres.ConnectionStringFor(database);
        if (provisioned) await postgres.CreateDatabaseAsync(database); // empty, as a DBA hands it over; else the first start creates it
        // A service provider each, so each has its own connection pool, as separate processes do.
        var processes = Enumerable.Range(0, 3).Select(i => new ServiceCollection()
            .AddRetailCamStorage(Path.Combine(root.DataRoot, $"node-{i}"), StorageProvider.Postgres, connectionString)
            .BuildServiceProvider()).ToList();
        try
        {
            var start = new TaskCompletionSource();
            var starts = processes.Select(services => Task.Run(async () =>
            {
                await start.Task;
                await StorageInitializer.InitializeAsync(services);
            })).ToList();
            start.SetResult();
            await Task.WhenAll(starts);

            await using var context = processes[0].GetRequiredService<IDbContextFactory<RetailCamDbContext>>().CreateDbContext();
            Assert.Equal(context.Database.GetMigrations(), await context.Database.GetAppliedMigrationsAsync());
            Assert.Equal(context.Database.GetMigrations().Count(),
                await context.Database.SqlQueryRaw<int>("""SELECT count(*)::int AS "Value" FROM "__EFMigrationsHistory" """).SingleAsync());
            Assert.Equal(0, await context.Runs.CountAsync());
        }
        finally
        {
            foreach (var services in processes) await services.DisposeAsync();
            await postgres.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task A_start_waits_while_another_process_migrates_the_database()
    {
        var database = PostgresServer.NewDatabaseName();
        await postgres.CreateDatabaseAsync(database);
        var connectionString = postgres.ConnectionStringFor(database);
        var services = new ServiceCollection()
            .AddRetailCamStorage(Path.Combine(root.DataRoot, "node"), StorageProvider.Postgres, connectionString)
            .BuildServiceProvider();
        try
        {
            Task start;
            // Another node in the middle of its migration holds the lock every node migrates under.
            await using (var migrating = new NpgsqlConnection(connectionString))
            {
                await migrating.OpenAsync();
                await ExecuteAsync(migrating, $"SELECT pg_advisory_lock({StorageInitializer.PostgresMigrationLockKey})");
                start = StorageInitializer.InitializeAsync(services);
                await WaitUntilAWriterWaitsOnALockAsync(start, connectionString);
                Assert.Equal(0L, await ExecuteAsync(migrating, "SELECT count(*) FROM information_schema.tables WHERE table_name = '__EFMigrationsHistory'"));
                await ExecuteAsync(migrating, $"SELECT pg_advisory_unlock({StorageInitializer.PostgresMigrationLockKey})");
            }
            await start;

            await using var context = services.GetRequiredService<IDbContextFactory<RetailCamDbContext>>().CreateDbContext();
            Assert.Equal(context.Database.GetMigrations(), await context.Database.GetAppliedMigrationsAsync());
        }
        finally
        {
            await services.DisposeAsync();
            await postgres.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task A_run_inserted_by_another_writer_meanwhile_is_updated_not_duplicated()
    {
        await using var other = root.OpenContext();
        await using var transaction = await other.Database.BeginTransactionAsync();
        other.Runs.Add(Run("run-x", RunStatus.Pending, Created));
        await other.SaveChangesAsync();

        var later = Run("run-x", RunStatus.Running, Created.AddDays(1));
        later.Steps = 40;
        var upsert = root.Runs.UpsertAsync(later);
        await WaitUntilAWriterWaitsOnALockAsync(upsert);
        await transaction.CommitAsync();

        var stored = await upsert;
        Assert.Equal(("Running", 40L, Created), (stored.Status, stored.Steps, stored.CreatedUtc)); // theirs, updated: its creation time kept
        await using var context = root.OpenContext();
        Assert.Equal(1, await context.Runs.CountAsync(r => r.Id == "run-x"));
    }

    [Fact]
    public async Task An_upload_stored_by_another_writer_meanwhile_is_the_one_returned()
    {
        var png = StorageTestRoot.Png(seed: 21);
        var hash = UploadStore.ComputeHash(png);
        await using var other = root.OpenContext();
        await using var transaction = await other.Database.BeginTransactionAsync();
        other.Uploads.Add(new UploadEntity
        {
            ContentHash = hash, FileName = "first.png", Format = "PNG", Length = png.Length, Width = 12, Height = 8,
            StoredPath = $"{UploadStore.FolderName}/{hash[..2]}/{hash}.png", FirstSeenUtc = Created,
        });
        await other.SaveChangesAsync();

        var save = root.Uploads.SaveAsync(png, "second.png");
        await WaitUntilAWriterWaitsOnALockAsync(save);
        await transaction.CommitAsync();

        var saved = await save;
        Assert.Equal(("first.png", Created), (saved.FileName, saved.FirstSeenUtc));
        Assert.Equal(png, await root.Uploads.ReadBytesAsync(hash));
        await using var context = root.OpenContext();
        Assert.Equal(1, await context.Uploads.CountAsync());
    }

    [Fact]
    public async Task An_epoch_recorded_by_another_writer_meanwhile_is_refused_whole()
    {
        await root.Runs.UpsertAsync(Run("run-e", RunStatus.Running, Created));
        await using var other = root.OpenContext();
        await using var transaction = await other.Database.BeginTransactionAsync();
        other.EpochMetrics.Add(new EpochMetricEntity { RunId = "run-e", Epoch = 0, Step = 100, ValidationAccuracy = 0.6, AtUtc = Created });
        await other.SaveChangesAsync();

        var replay = root.Runs.AddEpochMetricAsync(new EpochEnded("run-e", 100, new DateTimeOffset(Created), 0, 0.5, 0.7,
            new ValidationResult(0.99, 0.4, [0.99], [[1]], 1), IsBest: true));
        await WaitUntilAWriterWaitsOnALockAsync(replay);
        await transaction.CommitAsync();

        Assert.False(await replay);
        var stored = await root.Runs.GetAsync("run-e");
        Assert.NotNull(stored);
        Assert.Equal(0.6, Assert.Single(stored.EpochMetrics).ValidationAccuracy);
        // The run's figures were written in the same transaction as the refused epoch: none of them stands.
        Assert.Equal((null, 0, 0L), (stored.BestAccuracy, stored.Epochs, stored.Steps));
    }

    private static RunRecordEntity Run(string id, RunStatus status, DateTime created) => new()
    {
        Id = id, DataFolder = "/data/catalogue", Backbone = "resnet18", Status = status.ToString(), CreatedUtc = created,
    };

    private static async Task<object?> ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Returns once a session of the database waits for a lock, failing if <paramref name="writer"/> ends first.</summary>
    private async Task WaitUntilAWriterWaitsOnALockAsync(Task writer, string? connectionString = null)
    {
        await using var observer = new NpgsqlConnection(connectionString ?? root.ConnectionString);
        await observer.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", observer);
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(20))
        {
            if (writer.IsCompleted)
            {
                await writer; // its exception, if it failed
                Assert.Fail("It finished without waiting for the lock the other session holds: the race was not staged.");
            }
            if ((long)(await command.ExecuteScalarAsync())! > 0) return;
        }
        Assert.Fail("No session waited for the other session's lock within 30 s.");
    }
}
