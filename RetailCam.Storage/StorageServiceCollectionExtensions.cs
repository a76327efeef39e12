using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Layout;
using RetailCam.Storage.Accounts;

namespace RetailCam.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The history database and upload store of the data root that <c>AddRetailCamEngine</c> registered
    /// (call that first): every host that keeps history adds this one line. The database is SQLite under the
    /// data root unless <c>RetailCam:Storage:Provider</c> says postgres, with <c>ConnectionStrings:RetailCam</c>;
    /// both are validated at start.
    /// </summary>
    public static IHostApplicationBuilder AddRetailCamStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.ConnectionString = configuration.GetConnectionString(StorageOptions.ConnectionStringName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddDbContextFactory<RetailCamDbContext>((sp, options) => RetailCamDbContext.Configure(options,
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.Database(sp.GetRequiredService<DataRootLayout>().Root)));
        AddStores(builder.Services, sp => sp.GetRequiredService<DataRootLayout>().Root);
        return builder;
    }

    /// <summary>
    /// Registers the SQLite history and the upload store under <paramref name="dataRoot"/> (tests and tools without a host).
    /// Everything registered is a thread-safe singleton; each operation opens its own short-lived context.
    /// Call <see cref="StorageInitializer.InitializeAsync"/> at start to create or migrate the database.
    /// </summary>
    public static IServiceCollection AddRetailCamStorage(this IServiceCollection services, string dataRoot)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataRoot);
        return services.AddRetailCamStorage(dataRoot, StorageDatabase.Sqlite(dataRoot));
    }

    /// <summary>
    /// As <see cref="AddRetailCamStorage(IServiceCollection, string)"/>, with the history in the database named
    /// (tests of PostgreSQL, tools); uploads and datasets stay under <paramref name="dataRoot"/>.
    /// </summary>
    /// <exception cref="ArgumentException">PostgreSQL without a usable connection string.</exception>
    public static IServiceCollection AddRetailCamStorage(this IServiceCollection services, string dataRoot, StorageProvider provider, string? connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataRoot);
        return services.AddRetailCamStorage(dataRoot, provider switch
        {
            StorageProvider.Sqlite => string.IsNullOrWhiteSpace(connectionString) ? StorageDatabase.Sqlite(dataRoot) : new StorageDatabase(provider, connectionString),
            StorageProvider.Postgres => StorageDatabase.Postgres(connectionString!),
            _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown storage provider."),
        });
    }

    private static IServiceCollection AddRetailCamStorage(this IServiceCollection services, string dataRoot, StorageDatabase database)
    {
        var root = Path.GetFullPath(dataRoot);
        services.AddDbContextFactory<RetailCamDbContext>(builder => RetailCamDbContext.Configure(builder, database));
        AddStores(services, _ => root);
        return services;
    }

    private static void AddStores(IServiceCollection services, Func<IServiceProvider, string> dataRoot)
    {
        // Whoever registered a decoder with stricter limits wins; otherwise the default limits apply.
        services.TryAddSingleton(_ => new ImageFileDecoder());
        services.AddSingleton(sp => new UploadStore(dataRoot(sp), sp.GetRequiredService<IDbContextFactory<RetailCamDbContext>>(), sp.GetRequiredService<ImageFileDecoder>()));
        services.AddSingleton<PredictionHistory>();
        services.AddSingleton<RunHistory>();
        services.AddSingleton<PhotoFiling>();
        services.AddSingleton<ReviewQueue>();
        services.AddSingleton(sp => new DatasetRegistry(new DataRootLayout(dataRoot(sp)), sp.GetRequiredService<IDbContextFactory<RetailCamDbContext>>(), sp.GetRequiredService<ImageFileDecoder>()));
        AddTeamAccounts(services);
    }

    /// <summary>
    /// Identity's user and role stores on the same database, with the team's password and lock-out rules;
    /// the web app adds its sign-in manager and cookies on top. Accounts are scoped (as Identity's managers are).
    /// </summary>
    public static IdentityBuilder AddTeamAccounts(IServiceCollection services)
    {
        // Identity's managers log; a host has logging already, a bare service collection (tools, tests) needs it.
        services.AddLogging();
        services.AddSingleton<AccessTokens>();
        services.TryAddScoped<TeamAccounts>();
        return services.AddIdentityCore<TeamUser>(options =>
            {
                // Length over composition rules (NIST SP 800-63B): a long phrase beats "Passw0rd!".
                options.Password.RequiredLength = TeamPasswordLength;
                options.Password.RequireDigit = false;
                options.Password.RequireLowercase = false;
                options.Password.RequireUppercase = false;
                options.Password.RequireNonAlphanumeric = false;
                options.Password.RequiredUniqueChars = 4;
                options.Lockout.AllowedForNewUsers = true;
                options.Lockout.MaxFailedAccessAttempts = 5;
                options.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(5);
                options.User.RequireUniqueEmail = false;
            })
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<RetailCamDbContext>();
    }

    public const int TeamPasswordLength = 10;
}
