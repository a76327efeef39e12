using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace RetailCam.Storage.Postgres;

/// <summary>
/// Lets `dotnet ef migrations add --project RetailCam.Storage.Postgres --startup-project RetailCam.Storage.Postgres`
/// build the context on PostgreSQL without a host. Generating a migration never connects, so any connection
/// string serves; `-- "CONNECTIONSTRING"` names a real database for `dotnet ef database update`.
/// </summary>
internal sealed class PostgresDesignTimeDbContextFactory : IDesignTimeDbContextFactory<RetailCamDbContext>
{
    public RetailCamDbContext CreateDbContext(string[] args)
    {
        var connectionString = args.Length > 0 ? args[0] : "Host=localhost;Database=retailcam";
        var builder = new DbContextOptionsBuilder<RetailCamDbContext>();
        RetailCamDbContext.Configure(builder, StorageDatabase.Postgres(connectionString));
        return new RetailCamDbContext(builder.Options);
    }
}
