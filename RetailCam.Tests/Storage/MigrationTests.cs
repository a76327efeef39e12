using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using RetailCam.Storage;

namespace RetailCam.Tests.Storage;

public class MigrationTests
{
    [Fact]
    public async Task Migrations_create_the_schema_in_a_data_root_that_does_not_exist_yet()
    {
        var root = new StorageTestRoot();
        try
        {
            Assert.False(Directory.Exists(root.DataRoot));
            await root.InitializeAsync();

            Assert.True(File.Exists(Path.Combine(root.DataRoot, RetailCamDbContext.DatabaseFileName)));
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(root.DataRoot, RetailCamDbContext.DatabaseFileName)}");
            await connection.OpenAsync();
            var tables = await QueryStrings(connection, "SELECT name FROM sqlite_master WHERE type = 'table'");
            Assert.Subset(tables.ToHashSet(), new HashSet<string> { "Runs", "EpochMetrics", "Uploads", "Predictions", "__EFMigrationsHistory" });
            var indexes = await QueryStrings(connection, "SELECT name FROM sqlite_master WHERE type = 'index'");
            Assert.Contains("IX_EpochMetrics_RunId_Epoch", indexes);
            Assert.Contains("IX_Predictions_AtUtc", indexes);
            Assert.Contains("IX_Runs_CreatedUtc", indexes);
            Assert.Equal("wal", Assert.Single(await QueryStrings(connection, "PRAGMA journal_mode")));
        }
        finally
        {
            await root.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_migrations_match_the_model_and_initialising_again_changes_nothing()
    {
        var root = new StorageTestRoot();
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

    private static async Task<List<string>> QueryStrings(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync()) values.Add(reader.GetString(0));
        return values;
    }
}
