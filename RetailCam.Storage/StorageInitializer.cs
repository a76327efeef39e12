using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace RetailCam.Storage;

/// <summary>Brings the database to the current schema; call once at start, before serving requests.</summary>
public static class StorageInitializer
{
    /// <summary>Migrates the database registered by <c>AddRetailCamStorage</c>.</summary>
    public static async Task InitializeAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var factory = services.GetRequiredService<IDbContextFactory<RetailCamDbContext>>();
        await using var context = await factory.CreateDbContextAsync(cancellationToken);
        await context.MigrateAsync(cancellationToken);
    }

    /// <summary>
    /// Applies pending migrations, creating the file when it does not exist, then switches the
    /// file to write-ahead logging so that readers (history pages) do not wait for writers
    /// (the training observer, uploads). WAL is a property of the file, so it sticks.
    /// </summary>
    public static async Task MigrateAsync(this RetailCamDbContext context, CancellationToken cancellationToken = default)
    {
        var path = context.Database.GetDbConnection().DataSource;
        if (!string.IsNullOrEmpty(path) && Path.GetDirectoryName(path) is { Length: > 0 } folder)
            Directory.CreateDirectory(folder);
        await context.Database.MigrateAsync(cancellationToken);
        await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
    }
}
