using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace RetailCam.Storage;

/// <summary>
/// Tells which constraint the database refused a write for, on SQLite and on PostgreSQL alike.
/// Concurrent writers are settled by the database's own keys (insert, and on a clash read what the
/// other writer stored) rather than by check-then-insert, which two requests can both pass.
/// </summary>
/// <remarks>
/// On PostgreSQL a failed statement aborts its transaction: every later statement in it fails until a
/// rollback. The stores never carry on in the failed context: SaveChanges rolls back its own
/// transaction, and the retry or the read of the winner's row runs in a fresh context.
/// </remarks>
internal static class DbConstraint
{
    private const int SqlitePrimaryKey = 1555;   // SQLITE_CONSTRAINT_PRIMARYKEY
    private const int SqliteUnique = 2067;       // SQLITE_CONSTRAINT_UNIQUE
    private const int SqliteForeignKey = 787;    // SQLITE_CONSTRAINT_FOREIGNKEY

    /// <summary>A primary key or unique index already holds the value.</summary>
    public static bool IsDuplicateKey(DbUpdateException exception) => exception.InnerException switch
    {
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode is SqlitePrimaryKey or SqliteUnique,
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };

    /// <summary>A foreign key names a row that does not exist.</summary>
    public static bool IsMissingParent(DbUpdateException exception) => exception.InnerException switch
    {
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode == SqliteForeignKey,
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.ForeignKeyViolation,
        _ => false,
    };
}
