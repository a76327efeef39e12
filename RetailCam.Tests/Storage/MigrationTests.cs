using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using RetailCam.Storage;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Storage;

public abstract class MigrationTests
{
    /// <summary>A root whose database does not exist yet.</summary>
    protected abstract StorageTestRoot NewRoot();

    protected abstract Task<bool> DatabaseExistsAsync(StorageTestRoot root);

    protected abstract DbConnection Connect(StorageTestRoot root);

    protected abstract string TablesSql { get; }

    protected abstract string IndexesSql { get; }

    /// <summary>What the provider's own part of the schema must be.</summary>
    protected abstract Task AssertProviderSchemaAsync(StorageTestRoot root);

    [Fact]
    public async Task Migrations_create_the_schema_in_a_data_root_that_does_not_exist_yet()
    {
        var root = NewRoot();
        try
        {
            Assert.False(Directory.Exists(root.DataRoot));
            Assert.False(await DatabaseExistsAsync(root));
            await root.InitializeAsync();

            Assert.True(await DatabaseExistsAsync(root));
            var tables = await QueryStrings(root, TablesSql);
            Assert.Subset(tables.ToHashSet(), new HashSet<string> { "Runs", "EpochMetrics", "Uploads", "Predictions", "__EFMigrationsHistory" });
            var indexes = await QueryStrings(root, IndexesSql);
            Assert.Contains("IX_EpochMetrics_RunId_Epoch", indexes);
            Assert.Contains("IX_Predictions_AtUtc", indexes);
            Assert.Contains("IX_Runs_CreatedUtc", indexes);
            await AssertProviderSchemaAsync(root);
        }
        finally
        {
            await root.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_migrations_match_the_model_and_initialising_again_changes_nothing()
    {
        var root = NewRoot();
        try
        {
            await root.InitializeAsync();
            await StorageInitializer.InitializeAsync(root.Services);

            await using var context = root.OpenContext();
            Assert.Empty(await context.Database.GetPendingMigrationsAsync());
            Assert.Equal(context.Database.GetMigrations(), await context.Database.GetAppliedMigrationsAsync());
            // A model change without a new migration would leave deployed databases behind.
            Assert.False(context.Database.HasPendingModelChanges());
        }
        finally
        {
            await root.DisposeAsync();
        }
    }

    protected async Task<List<string>> QueryStrings(StorageTestRoot root, string sql)
    {
        await using var connection = Connect(root);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync()) values.Add(reader.GetString(0));
        return values;
    }
}

public sealed class SqliteMigrationTests : MigrationTests
{
    protected override StorageTestRoot NewRoot() => new();

    private static string DatabaseFile(StorageTestRoot root) => Path.Combine(root.DataRoot, RetailCamDbContext.DatabaseFileName);

    protected override Task<bool> DatabaseExistsAsync(StorageTestRoot root) => Task.FromResult(File.Exists(DatabaseFile(root)));

    protected override DbConnection Connect(StorageTestRoot root) => new SqliteConnection($"Data Source={DatabaseFile(root)}");

    protected override string TablesSql => "SELECT name FROM sqlite_master WHERE type = 'table'";

    protected override string IndexesSql => "SELECT name FROM sqlite_master WHERE type = 'index'";

    protected override async Task AssertProviderSchemaAsync(StorageTestRoot root) =>
        Assert.Equal("wal", Assert.Single(await QueryStrings(root, "PRAGMA journal_mode")));
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresMigrationTests(PostgresServer postgres) : MigrationTests
{
    protected override StorageTestRoot NewRoot() => new(postgres);

    protected override Task<bool> DatabaseExistsAsync(StorageTestRoot root) => postgres.DatabaseExistsAsync(root.DatabaseName!);

    protected override DbConnection Connect(StorageTestRoot root) => new NpgsqlConnection(root.ConnectionString);

    protected override string TablesSql => "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'";

    protected override string IndexesSql => "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'";

    protected override async Task AssertProviderSchemaAsync(StorageTestRoot root)
    {
        // Native times, not SQLite's text; text compared by code point, as SQLite does, not by the server's locale.
        Assert.Equal(["timestamp with time zone"], await QueryStrings(root,
            "SELECT data_type::text FROM information_schema.columns WHERE table_name = 'Runs' AND column_name = 'CreatedUtc'"));
        Assert.Equal(["C"], await QueryStrings(root,
            "SELECT collation_name::text FROM information_schema.columns WHERE table_name = 'AspNetUsers' AND column_name = 'UserName'"));
    }
}
