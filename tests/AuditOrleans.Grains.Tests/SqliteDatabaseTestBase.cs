using System.Data.Common;
using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>A real SQLite file with the engine's schema, for the tests of <see cref="AuditDatabase"/>.</summary>
public abstract class SqliteDatabaseTestBase : IAsyncLifetime
{
    protected TempDirectory Directory { get; } = new("auditorleans-db");

    protected AuditDatabase Database { get; private set; } = null!;

    /// <summary>The write-ahead log's length, in pages, past which the checkpointer starts it again.</summary>
    protected virtual long? WalRestartFrames => null;

    public async Task InitializeAsync()
    {
        Database = new AuditDatabase(
            Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = $"Data Source={Directory.Combine("t.db")}" } }),
            NullLogger<AuditDatabase>.Instance)
        {
            WalRestartFrames = WalRestartFrames,
        };
        await Database.ApplySchemaAsync();
    }

    public Task DisposeAsync()
    {
        Database.Dispose();
        Directory.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Starts a bulk write and returns once the writer runs it; it then holds the writer until <paramref name="release"/> completes, so that what follows queues behind it.</summary>
    protected async Task<Task<int>> RunningWriteAsync(List<string> ran, TaskCompletionSource release)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Database.WriteAsync(async (c, t) =>
        {
            ran.Add("running");
            started.SetResult();
            await release.Task;
            return await InsertAsync(c, t, "running@example.com");
        });
        await started.Task;
        return running;
    }

    protected async Task<bool> CommittedAsync(string email)
    {
        await using var connection = await Database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM notification_contacts WHERE email = @e";
        Db.AddParameter(command, "@e", email);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    protected static async Task<int> InsertAsync(DbConnection connection, DbTransaction transaction, string email)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO notification_contacts (project_id, email, types, created_at) VALUES ('p', @e, 1, 0)";
        var p = command.CreateParameter();
        p.ParameterName = "@e";
        p.Value = email;
        command.Parameters.Add(p);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>One write of <paramref name="rows"/> contacts named "{prefix}-{i}-" and <paramref name="filler"/>: a large write, to grow the log.</summary>
    protected Task<int> WriteRowsAsync(string prefix, int rows, string filler, WritePriority priority = WritePriority.Normal) =>
        Database.WriteAsync(
            async (c, t) =>
            {
                for (var i = 0; i < rows; i++)
                {
                    await InsertAsync(c, t, $"{prefix}-{i}-{filler}@example.com");
                }

                return rows;
            },
            priority);

    protected async Task<List<string>> EmailsAsync()
    {
        await using var connection = await Database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT email FROM notification_contacts ORDER BY email";
        var emails = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            emails.Add(reader.GetString(0));
        }

        return emails;
    }
}
