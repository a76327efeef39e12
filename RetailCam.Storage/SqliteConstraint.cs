using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace RetailCam.Storage;

/// <summary>
/// Tells which constraint SQLite refused a write for. Concurrent writers are settled by the
/// database's own keys (insert, and on a clash read what the other writer stored) rather than
/// by check-then-insert, which two requests can both pass.
/// </summary>
internal static class SqliteConstraint
{
    private const int PrimaryKey = 1555;   // SQLITE_CONSTRAINT_PRIMARYKEY
    private const int Unique = 2067;       // SQLITE_CONSTRAINT_UNIQUE
    private const int ForeignKey = 787;    // SQLITE_CONSTRAINT_FOREIGNKEY

    public static bool IsDuplicateKey(DbUpdateException exception) =>
        exception.InnerException is SqliteException { SqliteExtendedErrorCode: PrimaryKey or Unique };

    public static bool IsMissingParent(DbUpdateException exception) =>
        exception.InnerException is SqliteException { SqliteExtendedErrorCode: ForeignKey };
}
