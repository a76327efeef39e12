using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace RetailCam.Storage;

/// <summary>The database engines the history and the accounts can live in.</summary>
public enum StorageProvider
{
    /// <summary>retailcam.db under the data root: one app per data root, nothing to install.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database several web nodes and workers share.</summary>
    Postgres,
}

/// <summary>
/// Section "RetailCam:Storage": which database holds the history and the accounts. PostgreSQL's
/// connection string is not in this section but in <c>ConnectionStrings:RetailCam</c>, where ASP.NET
/// hosts and deployment tools keep connection strings (<c>ConnectionStrings__RetailCam</c> in the environment).
/// </summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string SectionName = "RetailCam:Storage";

    /// <summary>The name under <c>ConnectionStrings</c>.</summary>
    public const string ConnectionStringName = "RetailCam";

    public const string ConnectionStringKey = $"ConnectionStrings:{ConnectionStringName}";

    /// <summary><c>sqlite</c> (default) or <c>postgres</c>, in any case.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>An Npgsql connection string, filled from <see cref="ConnectionStringKey"/>; only PostgreSQL reads it.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The provider named, or null for a name that is none of them.</summary>
    public StorageProvider? ParsedProvider => Provider?.Trim().ToLowerInvariant() switch
    {
        "sqlite" => StorageProvider.Sqlite,
        "postgres" => StorageProvider.Postgres,
        _ => null,
    };

    /// <summary>The database these options name; SQLite's is the file under <paramref name="dataRoot"/>. Call on validated options.</summary>
    public StorageDatabase Database(string dataRoot) => ParsedProvider switch
    {
        StorageProvider.Sqlite => StorageDatabase.Sqlite(dataRoot),
        StorageProvider.Postgres => StorageDatabase.Postgres(ConnectionString!),
        _ => throw new InvalidOperationException(UnknownProvider(Provider)),
    };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ParsedProvider is null)
        {
            yield return new ValidationResult(UnknownProvider(Provider), [nameof(Provider)]);
        }
        else if (ParsedProvider == StorageProvider.Postgres && StorageDatabase.PostgresConnectionStringProblem(ConnectionString) is { } problem)
        {
            yield return new ValidationResult(problem, [nameof(ConnectionString)]);
        }
    }

    private static string UnknownProvider(string? provider) =>
        $"{SectionName}:{nameof(Provider)} is '{provider}': use sqlite (the default, retailcam.db under the data root) or postgres (with {ConnectionStringKey}).";
}

/// <summary>A database to open: the provider and its connection string.</summary>
public sealed record StorageDatabase(StorageProvider Provider, string ConnectionString)
{
    /// <summary>retailcam.db under <paramref name="dataRoot"/>.</summary>
    public static StorageDatabase Sqlite(string dataRoot) => new(StorageProvider.Sqlite, RetailCamDbContext.ConnectionString(dataRoot));

    /// <exception cref="ArgumentException">The connection string is empty or not one Npgsql understands.</exception>
    public static StorageDatabase Postgres(string connectionString) =>
        PostgresConnectionStringProblem(connectionString) is { } problem
            ? throw new ArgumentException(problem, nameof(connectionString))
            : new(StorageProvider.Postgres, connectionString);

    /// <summary>Why Npgsql could not use the connection string, or null when it can.</summary>
    internal static string? PostgresConnectionStringProblem(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            return $"{StorageOptions.SectionName}:Provider is postgres but {StorageOptions.ConnectionStringKey} is empty: " +
                "set it to an Npgsql connection string (Host=…;Database=…;Username=…;Password=…).";
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            return null;
        }
        catch (ArgumentException ex)
        {
            // The message names the keyword Npgsql does not know; the string itself may hold a password.
            return $"{StorageOptions.ConnectionStringKey} is not an Npgsql connection string: {ex.Message}";
        }
    }
}
