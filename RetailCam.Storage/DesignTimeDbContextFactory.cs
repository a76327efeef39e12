using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace RetailCam.Storage;

/// <summary>
/// Lets `dotnet ef migrations add` build the context without a host. Generating a migration
/// never opens the database, so a throw-away folder is enough; `-- DATAROOT` picks a real one
/// for `dotnet ef database update`.
/// </summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<RetailCamDbContext>
{
    public RetailCamDbContext CreateDbContext(string[] args)
    {
        var dataRoot = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "retailcam-design-time");
        Directory.CreateDirectory(dataRoot);
        var builder = new DbContextOptionsBuilder<RetailCamDbContext>();
        RetailCamDbContext.Configure(builder, dataRoot);
        return new RetailCamDbContext(builder.Options);
    }
}
