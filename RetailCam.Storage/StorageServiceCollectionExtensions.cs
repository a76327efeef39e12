using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RetailCam.Engine.Imaging;

namespace RetailCam.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers the SQLite history (retailcam.db) and the upload store under <paramref name="dataRoot"/>.
    /// Everything registered is a thread-safe singleton; each operation opens its own short-lived context.
    /// Call <see cref="StorageInitializer.InitializeAsync"/> at start to create or migrate the database.
    /// </summary>
    public static IServiceCollection AddRetailCamStorage(this IServiceCollection services, string dataRoot)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataRoot);
        var root = Path.GetFullPath(dataRoot);
        services.AddDbContextFactory<RetailCamDbContext>(builder => RetailCamDbContext.Configure(builder, root));
        // Whoever registered a decoder with stricter limits wins; otherwise the default limits apply.
        services.TryAddSingleton(_ => new ImageFileDecoder());
        services.AddSingleton(sp => new UploadStore(root, sp.GetRequiredService<IDbContextFactory<RetailCamDbContext>>(), sp.GetRequiredService<ImageFileDecoder>()));
        services.AddSingleton<PredictionHistory>();
        services.AddSingleton<RunHistory>();
        return services;
    }
}
