using System.Globalization;
using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Silo.Tests;

/// <summary>
/// The quick start (the host on its defaults: data/auditorleans.db, data/outbox) under the
/// common umask 022, which makes new files readable by every user: what it creates must be
/// private anyway (0700 directories, 0600 files).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PrivateFilesTests : IAsyncLifetime
{
    private const UnixFileMode Directory0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly TempDirectory directory = new("auditorleans-private");
    private SiloProcess? silo;
    private int gatewayPort;

    public async Task InitializeAsync()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var ports = FreePort.Next(2);
        gatewayPort = ports[1];
        silo = new SiloProcess(
            "private",
            new Dictionary<string, string>
            {
                ["Cluster:SiloPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
                ["Cluster:GatewayPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
                ["Security:Enabled"] = "false",
            },
            workingDirectory: directory.Path)
        {
            Umask = "022",
        };
        await silo.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (silo is not null)
        {
            await silo.DisposeAsync();
        }

        directory.Dispose();
    }

    [Fact]
    public async Task DataDirectoryDatabaseAndMailArePrivateUnderUmask022()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var project = AuditClusterFixture.NewProjectId("private");
        await using (var client = await TestClient.ConnectAsync("auditorleans", "auditorleans", [gatewayPort], TimeSpan.FromSeconds(30)))
        {
            await client.Client.GetGrain<INotificationContactsGrain>(project).AddAsync("security@example.com", NotificationType.Security);
            var fired = await client.Client.GetGrain<INotificationGrain>(0).SendTestAsync(project, "fr-par", AlertName.ApiKeyCreated);
            Assert.True(fired.IsTest);

            // Written while the silo runs: the database in WAL mode has its -wal and -shm files.
            var data = Path.Combine(directory.Path, "data");
            var database = Path.Combine(data, "auditorleans.db");
            var outbox = Path.Combine(data, "outbox");
            var mail = Directory.GetFiles(outbox, "*.eml");
            Assert.NotEmpty(mail);

            Assert.Equal(Directory0700, Mode(data));
            Assert.Equal(Directory0700, Mode(outbox));
            Assert.Equal(File0600, Mode(database));
            Assert.Equal(File0600, Mode(database + "-wal"));
            Assert.Equal(File0600, Mode(database + "-shm"));
            Assert.All(mail, static m => Assert.Equal(File0600, Mode(m)));
            Assert.All(Directory.GetFiles(data, "*.key"), static k => Assert.Equal(File0600, Mode(k)));
        }

        Assert.Equal(0, await silo!.StopAsync());
    }

    private static UnixFileMode Mode(string path) => File.GetUnixFileMode(path);
}
