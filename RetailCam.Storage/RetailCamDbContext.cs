using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using RetailCam.Engine.Layout;
using RetailCam.Storage.Accounts;

namespace RetailCam.Storage;

/// <summary>
/// The history database: run history, epoch metrics, uploads and predictions, datasets and the review
/// queue, and the team's accounts (ASP.NET Core Identity's tables) with their access tokens. SQLite under
/// the data root by default, or PostgreSQL (<see cref="StorageOptions"/>); one model, its details per provider.
/// Short-lived: take one per operation from <see cref="IDbContextFactory{TContext}"/>.
/// </summary>
public sealed class RetailCamDbContext(DbContextOptions<RetailCamDbContext> options) : IdentityDbContext<TeamUser>(options)
{
    public const string DatabaseFileName = DataRootLayout.DatabaseFileName;

    public DbSet<RunRecordEntity> Runs => Set<RunRecordEntity>();
    public DbSet<EpochMetricEntity> EpochMetrics => Set<EpochMetricEntity>();
    public DbSet<UploadEntity> Uploads => Set<UploadEntity>();
    public DbSet<PredictionRecordEntity> Predictions => Set<PredictionRecordEntity>();
    public DbSet<DatasetEntity> Datasets => Set<DatasetEntity>();
    public DbSet<FiledPhotoEntity> FiledPhotos => Set<FiledPhotoEntity>();
    public DbSet<ReviewItemEntity> ReviewItems => Set<ReviewItemEntity>();
    public DbSet<AccessTokenEntity> AccessTokens => Set<AccessTokenEntity>();

    public static string DatabasePath(string dataRoot) => Path.Combine(Path.GetFullPath(dataRoot), DatabaseFileName);

    public static string ConnectionString(string dataRoot) => new SqliteConnectionStringBuilder
    {
        DataSource = DatabasePath(dataRoot),
        // Cascading deletes of a run's metrics rely on SQLite enforcing foreign keys, which it
        // does not unless asked on every connection.
        ForeignKeys = true,
    }.ToString();

    /// <summary>
    /// The assembly holding PostgreSQL's migrations. SQLite's stay in this one; each provider needs its own,
    /// generated from the same model (EF Core's "migrations with multiple providers").
    /// </summary>
    public const string PostgresMigrationsAssembly = "RetailCam.Storage.Postgres";

    /// <summary>SQLite under <paramref name="dataRoot"/>, as the design-time factory and tools without configuration open it.</summary>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, string dataRoot) =>
        Configure(builder, StorageDatabase.Sqlite(dataRoot));

    /// <summary>The one place the provider is chosen, shared by the application and the design-time factories.</summary>
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, StorageDatabase database) => database.Provider switch
    {
        StorageProvider.Sqlite => builder.UseSqlite(database.ConnectionString),
        StorageProvider.Postgres => builder.UseNpgsql(database.ConnectionString, npgsql => npgsql.MigrationsAssembly(PostgresMigrationsAssembly)),
        _ => throw new ArgumentOutOfRangeException(nameof(database), database.Provider, "Unknown storage provider."),
    };

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite keeps no time zone: store UTC text (which sorts in time order, unlike DateTimeOffset,
        // which SQLite cannot ORDER BY) and hand it back marked as UTC. PostgreSQL stores the native
        // timestamp with time zone, and Npgsql refuses to write a DateTime that is not marked UTC: the
        // same conversion turns a local time into UTC and takes an unmarked one as UTC on both, so a
        // caller's DateTime means the same instant whichever database keeps it.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        if (Database.IsNpgsql())
        {
            // Identity's LockoutEnd: Npgsql writes timestamp with time zone only from an offset of zero.
            configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcDateTimeOffsetConverter>();
            // SQLite compares and sorts text by its code points (BINARY); PostgreSQL by the database's
            // locale (en_US sorts "ada" before "Zoe", case aside). The C collation gives PostgreSQL the
            // same order and equality as SQLite, whatever locale the server was created with.
            configurationBuilder.Properties<string>().UseCollation("C");
        }
    }

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.Entity<AccessTokenEntity>(token =>
        {
            token.ToTable("AccessTokens");
            token.HasKey(t => t.Id);
            token.HasIndex(t => t.Hash).IsUnique();
            token.Property(t => t.Hash).HasMaxLength(64).IsFixedLength();
            token.Property(t => t.Name).HasMaxLength(100);
            token.Property(t => t.Prefix).HasMaxLength(16);
            token.HasOne<TeamUser>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<RunRecordEntity>(run =>
        {
            run.ToTable("Runs");
            run.HasKey(r => r.Id);
            run.Property(r => r.Id).HasMaxLength(200);
            run.Property(r => r.Status).HasMaxLength(32);
            run.HasIndex(r => r.CreatedUtc);
            run.HasMany(r => r.EpochMetrics).WithOne().HasForeignKey(m => m.RunId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<EpochMetricEntity>(metric =>
        {
            metric.ToTable("EpochMetrics");
            metric.HasKey(m => m.Id);
            // A resumed run replays epochs it may already have reported; the database, not the
            // caller, guarantees one row per epoch.
            metric.HasIndex(m => new { m.RunId, m.Epoch }).IsUnique();
        });

        builder.Entity<UploadEntity>(upload =>
        {
            upload.ToTable("Uploads");
            upload.HasKey(u => u.ContentHash);
            upload.Property(u => u.ContentHash).HasMaxLength(64).IsFixedLength();
            upload.Property(u => u.Format).HasMaxLength(32);
        });

        builder.Entity<PredictionRecordEntity>(prediction =>
        {
            prediction.ToTable("Predictions");
            prediction.HasKey(p => p.Id);
            prediction.HasIndex(p => p.AtUtc);
            prediction.Property(p => p.Method).HasMaxLength(32);
            // A prediction is evidence about a stored photo: the photo may not vanish beneath it.
            prediction.HasOne(p => p.Upload).WithMany().HasForeignKey(p => p.ContentHash).OnDelete(DeleteBehavior.Restrict);
        });

        builder.Entity<DatasetEntity>(dataset =>
        {
            dataset.ToTable("Datasets");
            dataset.HasKey(d => d.Id);
            dataset.Property(d => d.Id).HasMaxLength(Engine.Layout.PathSegment.MaxLength);
            dataset.Property(d => d.Name).HasMaxLength(200);
            // One dataset per tree: registering a folder twice would make two names for the same photos.
            dataset.HasIndex(d => d.Folder).IsUnique();
        });

        builder.Entity<FiledPhotoEntity>(filed =>
        {
            filed.ToTable("FiledPhotos");
            filed.HasKey(f => f.Id);
            filed.HasIndex(f => f.AtUtc);
            filed.Property(f => f.Source).HasMaxLength(16);
            filed.HasOne<UploadEntity>().WithMany().HasForeignKey(f => f.ContentHash).OnDelete(DeleteBehavior.Restrict);
            // A dataset's filings go with it; the photos themselves stay in the uploads.
            filed.HasOne<DatasetEntity>().WithMany().HasForeignKey(f => f.DatasetId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<ReviewItemEntity>(review =>
        {
            review.ToTable("ReviewItems");
            review.HasKey(r => r.Id);
            review.HasIndex(r => new { r.Resolution, r.CreatedUtc });
            review.Property(r => r.Source).HasMaxLength(16);
            review.HasOne<UploadEntity>().WithMany().HasForeignKey(r => r.ContentHash).OnDelete(DeleteBehavior.Restrict);
        });
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        toStore => toStore.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(toStore, DateTimeKind.Utc) : toStore.ToUniversalTime(),
        fromStore => DateTime.SpecifyKind(fromStore, DateTimeKind.Utc));

    private sealed class UtcDateTimeOffsetConverter() : ValueConverter<DateTimeOffset, DateTimeOffset>(
        toStore => toStore.ToUniversalTime(),
        fromStore => fromStore);
}
