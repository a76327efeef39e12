using System.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace RetailCam.Storage;

/// <summary>Brings the database to the current schema; call once at start, before serving requests.</summary>
public static class StorageInitializer
{
    /// <summary>
    /// Key of the PostgreSQL advisory lock migrations run under. Any fixed number serves (these are the
    /// ASCII bytes of "RetailCa"); advisory locks belong to one database, so only processes migrating
    /// the same database wait for each other.
    /// </summary>
    internal const long PostgresMigrationLockKey = 0x5265_7461_696C_4361;

    /// <summary>Migrates the database registered by <c>AddRetailCamStorage</c>.</summary>
    public static async Task InitializeAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var factory = services.GetRequiredService<IDbContextFactory<RetailCamDbContext>>();
        await using var context = await factory.CreateDbContextAsync(cancellationToken);
        await context.MigrateAsync(cancellationToken);
    }

    /// <summary>
    /// Applies pending migrations, creating the database when it does not exist. Several processes may
    /// do so at once against one PostgreSQL database (the web nodes and workers of a cluster starting
    /// together): one migrates, the others wait and find nothing left to do.
    /// </summary>
    public static Task MigrateAsync(this RetailCamDbContext context, CancellationToken cancellationToken = default) =>
        context.Database.IsNpgsql() ? MigratePostgresAsync(context, cancellationToken) : MigrateSqliteAsync(context, cancellationToken);

    /// <summary>
    /// Creates the file's folder when it does not exist, migrates, then switches the file to write-ahead
    /// logging so that readers (history pages) do not wait for writers (the training observer, uploads).
    /// WAL is a property of the file, so it sticks.
    /// </summary>
    private static async Task MigrateSqliteAsync(RetailCamDbContext context, CancellationToken cancellationToken)
    {
        var path = context.Database.GetDbConnection().DataSource;
        if (!string.IsNullOrEmpty(path) && Path.GetDirectoryName(path) is { Length: > 0 } folder)
            Directory.CreateDirectory(folder);
        await context.Database.MigrateAsync(cancellationToken);
        await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }

    /// <summary>
    /// Creates the database unless it exists (a provisioned one usually does), then migrates while holding
    /// a session-level advisory lock on a connection of its own.
    /// </summary>
    /// <remarks>
    /// Npgsql 10 does lock by itself since EF Core 9 asks providers to: its history repository takes
    /// <c>LOCK TABLE "__EFMigrationsHistory" IN ACCESS EXCLUSIVE MODE</c> with
    /// <c>LockReleaseBehavior.Transaction</c>, so the lock ends with each migration's transaction and
    /// another process can slip in between two migrations of one run. The advisory lock is held from
    /// before the applied migrations are read until the last one is committed; a process that dies
    /// holding it releases it with its connection. It cannot live on the context's own connection:
    /// EF Core refuses to migrate inside a transaction the caller opened, and it opens and closes that
    /// connection as it goes.
    /// </remarks>
    private static async Task MigratePostgresAsync(RetailCamDbContext context, CancellationToken cancellationToken)
    {
        await CreatePostgresDatabaseAsync(context, cancellationToken);
        await using var lockConnection = new NpgsqlConnection(context.Database.GetConnectionString());
        await lockConnection.OpenAsync(cancellationToken);
        await ExecuteAsync(lockConnection, $"SELECT pg_advisory_lock({PostgresMigrationLockKey})", cancellationToken);
        try
        {
            await context.Database.MigrateAsync(cancellationToken);
        }
        finally
        {
            // Released explicitly: a connection back in the pool keeps its session, and with it the lock, until it is next handed out.
            if (lockConnection.State == ConnectionState.Open)
                await ExecuteAsync(lockConnection, $"SELECT pg_advisory_unlock({PostgresMigrationLockKey})", CancellationToken.None);
        }
    }

    /// <summary>
    /// EF Core creates a missing database when it migrates, but the advisory lock needs the database first.
    /// Npgsql already ignores the unique violation of two CREATE DATABASE at the same moment; a process
    /// that looked a moment after another created it gets "already exists" (42P04), just as harmless.
    /// </summary>
    private static async Task CreatePostgresDatabaseAsync(RetailCamDbContext context, CancellationToken cancellationToken)
    {
        var creator = context.GetService<IRelationalDatabaseCreator>();
        if (await creator.ExistsAsync(cancellationToken)) return;
        try
        {
            await creator.CreateAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
