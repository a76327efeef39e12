using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Layout;

namespace RetailCam.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The history database and upload store of the data root that <c>AddRetailCamEngine</c> registered
    /// (call that first): every host that keeps history adds this one line.
    /// </summary>
    public static IHostApplicationBuilder AddRetailCamStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddDbContextFactory<RetailCamDbContext>((sp, options) => RetailCamDbContext.Configure(options, sp.GetRequiredService<DataRootLayout>().Root));
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
        var root = Path.GetFullPath(dataRoot);
        services.AddDbContextFactory<RetailCamDbContext>(builder => RetailCamDbContext.Configure(builder, root));
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
    }
}
