using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using RetailCam.Engine.Layout;
using RetailCam.Storage;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Storage;

/// <summary>RetailCam:Storage and ConnectionStrings:RetailCam as a host reads them; nothing here opens a database.</summary>
public sealed class StorageConfigurationTests : IDisposable
{
    private readonly string dataRoot = Path.Combine(Path.GetTempPath(), "retailcam-storage-config-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dataRoot)) Directory.Delete(dataRoot, recursive: true);
    }

    private IHost Host(Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton(new DataRootLayout(dataRoot));
        builder.AddRetailCamStorage();
        return builder.Build();
    }

    private static RetailCamDbContext OpenContext(IHost host) =>
        host.Services.GetRequiredService<IDbContextFactory<RetailCamDbContext>>().CreateDbContext();

    /// <summary>The failures of the validation a host runs at its start.</summary>
    private string StartFailure(Dictionary<string, string?> settings)
    {
        using var host = Host(settings);
        var refused = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IStartupValidator>().Validate());
        return string.Join(" ", refused.Failures);
    }

    [Fact]
    public void Without_settings_the_history_is_retailcam_db_under_the_data_root()
    {
        using var host = Host([]);
        host.Services.GetRequiredService<IStartupValidator>().Validate();

        using var context = OpenContext(host);
        Assert.True(context.Database.IsSqlite());
        Assert.Equal(Path.Combine(dataRoot, RetailCamDbContext.DatabaseFileName), new SqliteConnectionStringBuilder(context.Database.GetConnectionString()).DataSource);
        Assert.Contains(context.Database.GetMigrations(), m => m.EndsWith("_TeamAccounts", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("Postgres")]
    public void Provider_postgres_opens_the_database_of_the_connection_string_with_its_own_migrations(string provider)
    {
        using var host = Host(new()
        {
            ["RetailCam:Storage:Provider"] = provider,
            ["ConnectionStrings:RetailCam"] = "Host=db.example;Database=retailcam_prod;Username=retailcam",
        });
        host.Services.GetRequiredService<IStartupValidator>().Validate();

        using var context = OpenContext(host);
        Assert.True(context.Database.IsNpgsql());
        var connection = new NpgsqlConnectionStringBuilder(context.Database.GetConnectionString());
        Assert.Equal(("db.example", "retailcam_prod"), (connection.Host, connection.Database));
        // PostgreSQL's own migrations, from RetailCam.Storage.Postgres: one InitialCreate of the whole model, none of SQLite's.
        Assert.Equal("RetailCam.Storage.Postgres.Migrations", context.GetService<IMigrationsAssembly>().Migrations.Single().Value.Namespace);
        Assert.Single(context.Database.GetMigrations(), m => m.EndsWith("_InitialCreate", StringComparison.Ordinal));
        Assert.DoesNotContain(context.Database.GetMigrations(), m => m.EndsWith("_TeamAccounts", StringComparison.Ordinal));
    }

    [Fact]
    public void Provider_postgres_without_a_connection_string_stops_the_start_naming_the_setting()
    {
        var failure = StartFailure(new() { ["RetailCam:Storage:Provider"] = "postgres" });

        Assert.Contains("ConnectionStrings:RetailCam", failure);
        Assert.Contains("empty", failure);
    }

    [Fact]
    public void An_unknown_provider_stops_the_start_naming_the_choices()
    {
        var failure = StartFailure(new() { ["RetailCam:Storage:Provider"] = "mysql", ["ConnectionStrings:RetailCam"] = "Server=x" });

        Assert.Contains("RetailCam:Storage:Provider is 'mysql'", failure);
        Assert.Contains("sqlite", failure);
        Assert.Contains("postgres", failure);
    }

    [Fact]
    public void A_connection_string_npgsql_cannot_read_stops_the_start_without_showing_the_password()
    {
        var failure = StartFailure(new()
        {
            ["RetailCam:Storage:Provider"] = "postgres",
            ["ConnectionStrings:RetailCam"] = "Hots=db.example;Password=hunter2hunter2",
        });

        Assert.Contains("ConnectionStrings:RetailCam is not an Npgsql connection string", failure);
        Assert.Contains("hots", failure, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hunter2", failure);
    }

    [Fact]
    public void Registering_postgres_without_a_connection_string_is_refused_at_once()
    {
        var refused = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddRetailCamStorage(dataRoot, StorageProvider.Postgres, " "));
        Assert.Contains("ConnectionStrings:RetailCam", refused.Message);
    }

    [Fact]
    public void The_cli_refuses_postgres_without_a_connection_string_with_one_line_naming_the_setting()
    {
        var (exit, stdout, stderr) = ToolProcess.Run(["users", "list"], new Dictionary<string, string>
        {
            ["RetailCam__DataRoot"] = dataRoot,
            ["RetailCam__Storage__Provider"] = "postgres",
        });

        Assert.Equal(1, exit);
        Assert.Contains("ConnectionStrings:RetailCam", Assert.Single(ToolProcess.Errors(stderr)));
        Assert.Equal("", stdout.Trim());
        Assert.False(File.Exists(Path.Combine(dataRoot, RetailCamDbContext.DatabaseFileName)));
    }
}
