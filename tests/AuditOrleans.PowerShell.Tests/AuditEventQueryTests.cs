using System.Management.Automation;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

[Collection(PowerShellCollection.Name)]
public sealed class AuditEventQueryTests(PowerShellClusterFixture fixture)
{
    private static readonly DateTime T0 = new(2025, 11, 20, 8, 0, 0, DateTimeKind.Utc);

    /// <summary>Sends <paramref name="count"/> events one second apart, alternating methods, statuses and principals.</summary>
    private static void Seed(PowerShellSession ps, int count)
    {
        var rows = Enumerable.Range(0, count).Select(i => PSInput.CsvRow(
            ("id", $"q-{i:D4}"), ("recorded_at", T0.AddSeconds(i).ToString("O")), ("locality", i % 5 == 0 ? "nl-ams" : "fr-par"),
            ("product_name", i % 4 == 0 ? "iam" : "instance"), ("method_name", i % 2 == 0 ? "ListServers" : "GetServer"),
            ("principal_id", $"p-{i % 3}"), ("source_ip", $"10.0.0.{i % 7}"), ("status_code", i % 10 == 0 ? "403" : "200"))).ToList();
        ps.Run("$rows | Send-AuditEvent", ("rows", rows)).ThrowOnError();
    }

    [Fact]
    public void FiltersNarrowTheTimelineNewestFirst()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());
        Seed(ps, 60);
        (string, object?) since = ("since", T0.AddMinutes(-1));

        var all = ps.Run("Get-AuditEvent -RecordedAfter $since", since).ThrowOnError();
        Assert.Equal(60, all.Output.Count);
        Assert.Equal("q-0059", all.Output[0].Properties["Id"].Value);

        var oldest = ps.Run("Get-AuditEvent -RecordedAfter $since -Oldest -First 3", since).ThrowOnError();
        Assert.Equal(["q-0000", "q-0001", "q-0002"], oldest.Property("Id"));

        var forbidden = ps.Run("Get-AuditEvent -RecordedAfter $since -StatusCode 403", since).ThrowOnError();
        Assert.Equal(6, forbidden.Output.Count);

        var method = ps.Run("Get-AuditEvent -RecordedAfter $since -MethodName GetServer -PrincipalId p-1", since).ThrowOnError();
        Assert.Equal(10, method.Output.Count);
        Assert.All(method.Property("MethodName"), m => Assert.Equal("GetServer", m));

        // Every fifth event is in nl-ams, but iam events (every fourth) are global: they count in fr-par.
        Assert.Equal(9, ps.Run("Get-AuditEvent -RecordedAfter $since -Region nl-ams", since).ThrowOnError().Output.Count);
        Assert.Equal(9, ps.Run("Get-AuditEvent -RecordedAfter $since -SourceIp 10.0.0.3", since).ThrowOnError().Output.Count);
        Assert.Equal(15, ps.Run("Get-AuditEvent -RecordedAfter $since -ProductName iam", since).ThrowOnError().Output.Count);
        Assert.Equal(11, ps.Run("Get-AuditEvent -RecordedAfter $since -RecordedBefore $before", since, ("before", T0.AddSeconds(10))).ThrowOnError().Output.Count);
    }

    [Fact]
    public void NothingInTheDefaultWindowIsAWarningThatSaysHowToWidenIt()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());
        Seed(ps, 3);

        var empty = ps.Run("Get-AuditEvent").ThrowOnError();
        Assert.Empty(empty.Output);
        var hint = Assert.Single(empty.Warnings);
        Assert.Contains("last hour", hint, StringComparison.Ordinal);
        Assert.Contains("-RecordedAfter", hint, StringComparison.Ordinal);

        // An explicit window, or a result, needs no hint.
        Assert.Empty(ps.Run("Get-AuditEvent -RecordedAfter $since -MethodName NoSuchMethod", ("since", T0)).ThrowOnError().Warnings);
        var found = ps.Run("Get-AuditEvent -RecordedAfter $since", ("since", T0)).ThrowOnError();
        Assert.Equal(3, found.Output.Count);
        Assert.Empty(found.Warnings);
    }

    [Fact]
    public void TimesMayBeDateTimeOffsetsLikeTheRecordedAtOfTheOutput()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());
        Seed(ps, 20);

        // The same instant as T0 + 10 s, written in UTC+02:00.
        var after = new DateTimeOffset(T0.AddSeconds(10)).ToOffset(TimeSpan.FromHours(2));
        Assert.Equal(10, ps.Run("Get-AuditEvent -RecordedAfter $after", ("after", after)).ThrowOnError().Output.Count);

        // An event's own RecordedAt narrows the next query, as in an investigation.
        var around = ps.Run("$e = Get-AuditEvent -RecordedAfter $since | Where-Object Id -eq 'q-0005'; Get-AuditEvent -RecordedAfter $e.RecordedAt -RecordedBefore $e.RecordedAt.AddSeconds(2)",
            ("since", T0.AddMinutes(-1))).ThrowOnError();
        Assert.Equal(["q-0007", "q-0006", "q-0005"], around.Property("Id"));
        Assert.Empty(ps.Run("Get-AuditAlertHistory -After $after", ("after", after)).ThrowOnError().Output);
    }

    [Fact]
    public void ResultsFollowContinuationTokensAcrossPages()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());
        Seed(ps, 1100);

        var all = ps.Run("Get-AuditEvent -RecordedAfter $since -Oldest", ("since", T0.AddMinutes(-1))).ThrowOnError();

        Assert.Equal(1100, all.Output.Count);
        Assert.Equal(1100, all.Property("Id").Distinct().Count());
        Assert.Equal("q-1099", all.Output[^1].Properties["Id"].Value);
        Assert.Equal(1050, ps.Run("Get-AuditEvent -RecordedAfter $since -First 1050", ("since", T0.AddMinutes(-1))).ThrowOnError().Output.Count);
    }

    [Fact]
    public void OutputPropertiesAreFlatForExportCsv()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());
        ps.Run("""
            Send-AuditEvent -Id key-1 -MethodName CreateAPIKey -ProductName iam -StatusCode 200 -RecordedAt '2025-11-20T09:00:00Z' -Resources $resources -RequestBody $body
            """,
            ("resources", PSInput.FromJson("""[{"id":"SCWABCDEFGHIJKLMNOPQ","type":"iam_api_key","iam_api_key_info":{"x":1}}]""")),
            ("body", PSInput.FromJson("""{"description":"ci"}"""))).ThrowOnError();

        var entry = Assert.Single(ps.Run("Get-AuditEvent -RecordedAfter $since -ResourceId SCWABCDEFGHIJKLMNOPQ", ("since", T0.AddDays(-1))).ThrowOnError().Output);

        foreach (var property in entry.Properties)
        {
            var value = property.Value;
            Assert.True(value is null or string or int or long or DateTimeOffset, $"{property.Name} is a {value?.GetType().Name}");
        }

        Assert.Equal("SCWABCDEFGHIJKLMNOPQ", entry.Properties["ResourceIds"].Value);
        Assert.Equal("iam_api_key", entry.Properties["ResourceTypes"].Value);
        Assert.Equal("""{"description":"ci"}""", entry.Properties["RequestBody"].Value);
    }

    [Fact]
    public void ExportWritesProviderJsonLinesThatParseBack()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());
        Seed(ps, 5);
        var path = Path.Combine(fixture.Directory.Path, $"export-{Guid.NewGuid():N}.jsonl");

        var run = ps.Run("Export-AuditEvent -Path $path -RecordedAfter $since -Oldest -PassThru", ("path", path), ("since", T0.AddMinutes(-1))).ThrowOnError();

        Assert.Equal(path, ((FileInfo)Assert.Single(run.Output).BaseObject).FullName);
        var lines = File.ReadAllLines(path);
        Assert.Equal(5, lines.Length);
        var events = lines.Select(AuditEventJson.Parse).ToList();
        Assert.Equal(["q-0000", "q-0001", "q-0002", "q-0003", "q-0004"], events.Select(static e => e.Id));
        Assert.Contains("\"principal\":{\"id\":\"p-0\"}", lines[0]);
        Assert.Contains("\"status_code\":403", lines[0]);

        var refused = ps.Run("Export-AuditEvent -Path $path -NoClobber", ("path", path));
        Assert.StartsWith("FileExists,", Assert.Single(refused.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void BadQueryArgumentsAreInvalidArgumentErrors()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());

        var swapped = Assert.Single(ps.Run("Get-AuditEvent -RecordedAfter $a -RecordedBefore $b", ("a", T0), ("b", T0.AddHours(-1))).Errors);
        Assert.Equal(ErrorCategory.InvalidArgument, swapped.CategoryInfo.Category);
        Assert.Contains("swap", swapped.Exception.Message);

        var badProject = Assert.Single(ps.Run("Get-AuditEvent -ProjectId 'no/slash'").Errors);
        Assert.StartsWith("InvalidProjectId,", badProject.FullyQualifiedErrorId);
    }
}
