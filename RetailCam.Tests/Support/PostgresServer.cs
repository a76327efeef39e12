using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace RetailCam.Tests.Support;

/// <summary>
/// A real PostgreSQL for the tests: initdb into a temp folder and pg_ctl start on a free loopback port,
/// trust authentication on 127.0.0.1, stopped and deleted on dispose. Run as the postgres system user
/// when the tests run as root (initdb and postgres refuse root). With RETAILCAM_TEST_POSTGRES set to a
/// connection string, that server is used instead and nothing is started. Each test gets a database of
/// its own (<see cref="NewDatabaseName"/>), dropped when it is done.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string EnvironmentVariable = "RETAILCAM_TEST_POSTGRES";

    private const string Superuser = "postgres";
    private string? folder;
    private string? binaries;
    private string adminConnectionString = "";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } external)
        {
            adminConnectionString = external;
            return;
        }
        binaries = FindBinaries();
        folder = Path.Combine(Path.GetTempPath(), "retailcam-postgres-tests", Guid.NewGuid().ToString("N"));
        var data = Path.Combine(folder, "data");
        var sockets = Path.Combine(folder, "sockets");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(sockets);
        if (AsRoot) await RunAsync("chown", ["-R", $"{Superuser}:{Superuser}", folder]);

        // An ICU locale, as production servers have a linguistic one: tests see what the C collation of our columns changes.
        await RunPostgresToolAsync("initdb", ["-D", data, "-U", Superuser, "-A", "trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US", "--no-sync"]);

        // Another process may take the free port between the look-up and the start: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeLoopbackPort();
            var settings = $"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c max_connections=200 " +
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";
            try
            {
                await RunPostgresToolAsync("pg_ctl", ["start", "-D", data, "-w", "-t", "60", "-l", Path.Combine(folder, "server.log"), "-o", settings]);
                adminConnectionString = new NpgsqlConnectionStringBuilder
                {
                    Host = "127.0.0.1", Port = port, Username = Superuser, Database = "postgres", Pooling = false,
                }.ToString();
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (folder is null) return;
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunPostgresToolAsync("pg_ctl", ["stop", "-D", Path.Combine(folder, "data"), "-m", "immediate", "-w"]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A database name no other test uses; the database itself does not exist yet.</summary>
    public static string NewDatabaseName() => $"retailcam_test_{Guid.NewGuid():N}";

    /// <summary>The connection string of <paramref name="database"/> on this server, as the app would be configured with it.</summary>
    public string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = database, Pooling = true }.ToString();

    public Task CreateDatabaseAsync(string database) => AdminAsync($"CREATE DATABASE \"{database}\"");

    public async Task<bool> DatabaseExistsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", database);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    /// <summary>Drops the database, closing whatever connections the test's pools still hold on it.</summary>
    public async Task DropDatabaseAsync(string database)
    {
        await using (var connection = new NpgsqlConnection(ConnectionStringFor(database)))
            NpgsqlConnection.ClearPool(connection);
        await AdminAsync($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
    }

    private async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static bool AsRoot => Environment.UserName == "root";

    private Task RunPostgresToolAsync(string tool, IReadOnlyList<string> arguments)
    {
        var path = Path.Combine(binaries!, tool);
        return AsRoot ? RunAsync("runuser", ["-u", Superuser, "--", path, .. arguments]) : RunAsync(path, arguments);
    }

    /// <summary>pg_config's bindir when it holds initdb (Debian's /usr/bin/pg_config may come from libpq-dev alone), else the newest /usr/lib/postgresql/*/bin.</summary>
    private static string FindBinaries()
    {
        try
        {
            using var pgConfig = Process.Start(new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var bindir = pgConfig.StandardOutput.ReadToEnd().Trim();
            pgConfig.WaitForExit();
            if (pgConfig.ExitCode == 0 && File.Exists(Path.Combine(bindir, "initdb"))) return bindir;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No pg_config on the PATH.
        }
        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
        return installed ?? throw new InvalidOperationException(
            $"PostgreSQL's server binaries (initdb, pg_ctl) were not found: apt-get install -y postgresql, or set {EnvironmentVariable} to a connection string of a server to use.");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in two minutes.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr}{await stdout}");
    }
}

/// <summary>The test classes on PostgreSQL share one server (each test has its own database on it).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL server";
}
