using AuditOrleans.Grains;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace AuditOrleans.Silo.Tests;

public sealed class SiloConfigurationTests
{
    private static AuditOrleansOptions Read(params (string Key, string Value)[] settings) =>
        SiloConfiguration.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(static s => new KeyValuePair<string, string?>("AuditOrleans:" + s.Key, s.Value)))
            .Build());

    [Fact]
    public void DefaultsAreTheContract()
    {
        var o = Read();
        Assert.Equal(StorageProvider.Sqlite, o.Storage.Provider);
        Assert.Equal("Data Source=data/auditorleans.db", o.Storage.ConnectionString);
        Assert.True(o.Storage.ApplySchema);
        Assert.Equal(ClusterMode.Localhost, o.Cluster.Mode);
        Assert.Equal((11111, 30000), (o.Cluster.SiloPort, o.Cluster.GatewayPort));
        Assert.Equal(("auditorleans", "auditorleans"), (o.Cluster.ClusterId, o.Cluster.ServiceId));
        Assert.Equal("data/outbox", o.Smtp.PickupDirectory);
        Assert.Null(o.Smtp.Host);
        Assert.Equal("http://localhost:8080", o.Console.BaseUrl);
        Assert.Equal(["fr-par", "nl-ams", "pl-waw"], o.Regions);
        Assert.Equal(90, o.Retention.Days);
        Assert.True(o.Security.Enabled);
        Assert.Equal((TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15)), (o.Alerts.EpisodeRepeatInterval, o.Alerts.LatenessThreshold));
    }

    [Fact]
    public void RegionsAsACommaSeparatedListReplaceTheDefaults()
    {
        Assert.Equal(["fr-par", "nl-ams", "pl-waw", "de-fra"], Read(("Regions", "fr-par, nl-ams,pl-waw , DE-FRA")).Regions);
    }

    [Fact]
    public void RegionsAsAnArrayReplaceTheDefaults()
    {
        Assert.Equal(["fr-par", "it-mil"], Read(("Regions:0", "fr-par"), ("Regions:1", "it-mil")).Regions);
    }

    [Theory]
    [InlineData("Cluster:GatewayPort", "abc", "AuditOrleans:Cluster:GatewayPort")]
    [InlineData("Cluster:GatewayPort", "70000", "AuditOrleans:Cluster:GatewayPort")]
    [InlineData("Cluster:SiloPort", "30000", "different ports")]
    [InlineData("Storage:Provider", "Oracle", "AuditOrleans:Storage:Provider")]
    [InlineData("Cluster:Mode", "AdoNet", "PostgreSql")]
    [InlineData("Console:BaseUrl", "not a url", "AuditOrleans:Console:BaseUrl")]
    [InlineData("Console:GrafanaDashboardUrl", "grafana/d/x", "AuditOrleans:Console:GrafanaDashboardUrl")]
    [InlineData("Regions", "nl-ams, pl-waw", "must include fr-par")]
    [InlineData("Regions", "fr-par, paris", "'paris'")]
    [InlineData("Smtp:From", "nobody", "AuditOrleans:Smtp:From")]
    [InlineData("Retention:Days", "-1", "AuditOrleans:Retention:Days")]
    [InlineData("Storage:ConnectionString", "", "AuditOrleans:Storage:ConnectionString")]
    [InlineData("CheckpointKey", "00ff", "AuditOrleans:CheckpointKey must be at least 64 hex digits")]
    [InlineData("Alerts:GroupInterval", "-00:01:00", "AuditOrleans:Alerts:GroupInterval")]
    [InlineData("Alerts:GroupInterval", "2.00:00:00", "up to 1.00:00:00")]
    [InlineData("Alerts:MaxEmailsPerContactPerHour", "-1", "AuditOrleans:Alerts:MaxEmailsPerContactPerHour")]
    [InlineData("Alerts:LatenessThreshold", "00:00:00", "AuditOrleans:Alerts:LatenessThreshold must be positive")]
    [InlineData("Alerts:LatenessThreshold", "-00:05:00", "AuditOrleans:Alerts:LatenessThreshold must be positive")]
    [InlineData("Alerts:EpisodeRepeatInterval", "00:00:00", "AuditOrleans:Alerts:EpisodeRepeatInterval must be positive")]
    public void BadValuesAreNamedWithWhatToDo(string key, string value, string expected)
    {
        var error = Assert.Throws<ConfigurationException>(() => Read((key, value)));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void AlertGroupingAndTheEmailCapHaveDefaultsAndCanBeTurnedOff()
    {
        var defaults = Read().Alerts;
        Assert.Equal((TimeSpan.FromMinutes(5), 20), (defaults.GroupInterval, defaults.MaxEmailsPerContactPerHour));
        var off = Read(("Alerts:GroupInterval", "00:00:00"), ("Alerts:MaxEmailsPerContactPerHour", "0")).Alerts;
        Assert.Equal((TimeSpan.Zero, 0), (off.GroupInterval, off.MaxEmailsPerContactPerHour));
    }

    [Fact]
    public void AClusterNeedsOneCheckpointKeyForAllSilos()
    {
        (string, string)[] cluster = [("Storage:Provider", "PostgreSql"), ("Storage:ConnectionString", "Host=db;Database=audit"), ("Cluster:Mode", "AdoNet")];
        var error = Assert.Throws<ConfigurationException>(() => Read(cluster));
        Assert.Contains("AuditOrleans:CheckpointKey is not set", error.Message);

        var key = Convert.ToHexStringLower(new byte[32].Select(static (_, i) => (byte)i).ToArray());
        Assert.Equal(key, Read([.. cluster, ("CheckpointKey", key)]).CheckpointKey);
    }

    [Fact]
    public void StorageDescriptionNeverShowsTheConnectionString()
    {
        var o = Read(("Storage:Provider", "PostgreSql"), ("Storage:ConnectionString", "Host=db.internal;Database=audit;Username=ao;Password=hunter2"));
        var text = SiloConfiguration.DescribeStorage(o);
        Assert.Contains("db.internal", text);
        Assert.DoesNotContain("hunter2", text);
    }
}
