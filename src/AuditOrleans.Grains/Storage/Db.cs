using System.Data.Common;
using System.Globalization;
using System.Text;

namespace AuditOrleans.Grains.Storage;

/// <summary>ADO.NET command helpers shared by every store over <see cref="AuditDatabase"/>.</summary>
public static class Db
{
    /// <summary>A command with its SQL and named parameters (null values sent as NULL), for every store over <see cref="AuditDatabase"/>.</summary>
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            AddParameter(command, name, value);
        }

        return command;
    }

    internal static DbParameter AddParameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    /// <summary>Narrows a query being built to <c>column = name</c> when <paramref name="value"/> is given; nothing when it is null.</summary>
    internal static void Filter(DbCommand command, StringBuilder sql, string column, string name, string? value)
    {
        if (value is not null)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND {column} = {name}");
            AddParameter(command, name, value);
        }
    }

    internal static bool IsUniqueViolation(DbException ex) =>
        ex.SqlState == "23505" // PostgreSQL unique_violation
        || (ex is Microsoft.Data.Sqlite.SqliteException sqlite && sqlite.SqliteErrorCode == 19 && sqlite.SqliteExtendedErrorCode is 2067 or 1555);
}
