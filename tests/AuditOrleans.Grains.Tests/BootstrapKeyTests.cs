using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>A fresh installation without Security:BootstrapApiKey is secure and usable by whoever can read data/owner.key.</summary>
[Collection(FreshInstallCollection.Name)]
public sealed class BootstrapKeyTests(FreshInstallFixture fixture)
{
    private string KeyPath => fixture.Directory.Combine("owner.key");

    [Fact]
    public void TheGeneratedOwnerKeyIsInAFileOnlyItsOwnerCanRead()
    {
        Assert.True(File.Exists(KeyPath), $"{KeyPath} was not written");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
        }

        var key = File.ReadAllText(KeyPath).Trim();
        Assert.True(Security.ApiKeySecret.TryParse(key, out var id));

        // The path and the key id are logged, the key never.
        Assert.Contains(KeyPath, fixture.Logs.Text, StringComparison.Ordinal);
        Assert.Contains(id, fixture.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(key, fixture.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(key[(key.LastIndexOf('_') + 1)..], fixture.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheKeyInTheFileIsAnOwnerAndNothingElseGetsIn()
    {
        var key = File.ReadAllText(KeyPath).Trim();
        await using var owner = await fixture.CreateClientAsync(key);
        var keys = await owner.Grains.GetGrain<IApiKeyGrain>(0).ListAsync(false);
        var only = Assert.Single(keys, static k => k.Role == ApiKeyRole.Owner);
        Assert.StartsWith("ao_" + only.Id + "_", key, StringComparison.Ordinal);

        // Secure by default: the well-known test key is not registered here, and no key gets nothing.
        await using var stranger = await fixture.CreateClientAsync(AuditClusterFixture.OwnerApiKey);
        await Assert.ThrowsAsync<AccessDeniedException>(() => stranger.Grains.GetGrain<IApiKeyGrain>(0).ListAsync(false));
        await using var anonymous = await fixture.CreateClientAsync(null);
        await Assert.ThrowsAsync<AccessDeniedException>(() => anonymous.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery { ProjectId = "default" }));
    }
}
