using AuditOrleans.Grains.Storage;
using AuditOrleans.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// A database left readable by every user (an older install, a looser umask) is made private
/// when the silo opens it: the file and its -wal and -shm files become 0600.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PrivateFilesTests
{
    private const UnixFileMode File0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode File0644 = File0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    [Fact]
    public async Task ExistingReadableDatabaseFilesAreTightenedAtStart()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var directory = new TempDirectory("auditorleans-private");
        var path = directory.Combine("old.db");

        // An older install: a WAL database whose files everyone may read. The connection stays
        // open so that the -wal and -shm files exist.
        await using var old = new SqliteConnection($"Data Source={path};Pooling=false");
        await old.OpenAsync();
        await using (var command = old.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);";
            await command.ExecuteNonQueryAsync();
        }

        string[] files = [path, path + "-wal", path + "-shm"];
        foreach (var file in files)
        {
            File.SetUnixFileMode(file, File0644);
        }

        using var database = new AuditDatabase(
            Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = $"Data Source={path}" } }),
            NullLogger<AuditDatabase>.Instance);
        await using (await database.OpenAsync())
        {
        }

        Assert.All(files, static f => Assert.Equal(File0600, File.GetUnixFileMode(f)));
    }

    [Fact]
    public void NewDatabaseDirectoryAndFileArePrivate()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var directory = new TempDirectory("auditorleans-private");
        var data = directory.Combine("nested", "data");
        var path = Path.Combine(data, "auditorleans.db");
        using var database = new AuditDatabase(
            Options.Create(new AuditOrleansOptions { Storage = { ConnectionString = $"Data Source={path}" } }),
            NullLogger<AuditDatabase>.Instance);

        database.EnsureSqliteDirectory();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        Assert.Equal(File0600, File.GetUnixFileMode(path));
    }
}
