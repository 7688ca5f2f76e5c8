using System.Management.Automation;
using Xunit;

namespace AuditOrleans.PowerShell.Tests;

[Collection(PowerShellCollection.Name)]
public sealed class SendAuditEventTests(PowerShellClusterFixture fixture)
{
    private static readonly DateTime Since = new(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// The provider's export as ConvertFrom-Json objects, with every project and organization
    /// id mapped to a fresh one so that the test owns its data.
    /// </summary>
    private static (List<PSObject> Events, Dictionary<string, int> PerProject) ProviderEvents()
    {
        var ids = new Dictionary<string, string>();
        string Map(object? id) => ids.TryGetValue((string)id!, out var mapped) ? mapped : ids[(string)id!] = PowerShellClusterFixture.NewProjectId("pv");

        var events = new List<PSObject>();
        var perProject = new Dictionary<string, int>();
        foreach (var line in PSInput.ProviderEventLines())
        {
            var e = (PSObject)PSInput.FromJson(line)!;
            foreach (var field in new[] { "project_id", "organization_id" })
            {
                if (e.Properties[field]?.Value is string id)
                {
                    e.Properties[field].Value = Map(id);
                }
            }

            PSInput.Set(e, "id", Guid.NewGuid().ToString());
            var project = (string)(e.Properties["project_id"]?.Value ?? e.Properties["organization_id"].Value);
            perProject[project] = perProject.GetValueOrDefault(project) + 1;
            events.Add(e);
        }

        return (events, perProject);
    }

    [Fact]
    public void ProviderExportFromConvertFromJsonIsAcceptedAndQueryable()
    {
        var (events, perProject) = ProviderEvents();
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());

        var summary = Assert.Single(ps.Run("$events | Send-AuditEvent -PassThru", ("events", events)).ThrowOnError().Output);

        Assert.Equal(71, summary.Properties["Total"].Value);
        Assert.Equal(71, summary.Properties["Accepted"].Value);
        Assert.Equal(0, summary.Properties["Rejected"].Value);
        foreach (var (project, count) in perProject)
        {
            var stored = ps.Run("Get-AuditEvent -ProjectId $p -RecordedAfter $since", ("p", project), ("since", Since)).ThrowOnError();
            Assert.Equal(count, stored.Output.Count);
        }

        // The nested principal.id, the zone and the request body came through.
        var first = (PSObject)PSInput.FromJson(PSInput.ProviderEventLines()[0])!;
        var sent = events[0];
        var entry = Assert.Single(ps.Run("Get-AuditEvent -ProjectId $p -RecordedAfter $since | Where-Object Id -eq $id",
            ("p", sent.Properties["project_id"].Value), ("id", sent.Properties["id"].Value)).ThrowOnError().Output);
        Assert.Equal(((PSObject)first.Properties["principal"].Value).Properties["id"].Value, entry.Properties["PrincipalId"].Value);
        Assert.Equal("fr-par", entry.Properties["Region"].Value);
        Assert.Contains("\"name\":\"scalewayDataSourceAuditTrailSecret\"", (string)entry.Properties["RequestBody"].Value);
        Assert.Contains("secret_manager_secret_info", (string)entry.Properties["Resources"].Value);
        // recorded_at 2025-11-20T11:11:24.434037252Z: kept to the microsecond at least.
        var recordedAt = (DateTimeOffset)entry.Properties["RecordedAt"].Value;
        Assert.True((recordedAt - new DateTimeOffset(2025, 11, 20, 11, 11, 24, TimeSpan.Zero).AddTicks(4340372)).Duration() < TimeSpan.FromMicroseconds(1), $"{recordedAt:O}");
    }

    [Fact]
    public void TheSummaryOfAMixedBatchNamesEveryProject()
    {
        var (events, perProject) = ProviderEvents();
        var session = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(session);
        var own = PSInput.CsvRow(("locality", "fr-par"), ("method_name", "ListServers"), ("status_code", "200"));

        var summary = Assert.Single(ps.Run("@($events) + $own | Send-AuditEvent -PassThru", ("events", events), ("own", own)).ThrowOnError().Output);

        // The export's projects and the session's (for the event that names none), each once.
        var projects = ((string[])summary.Properties["ProjectIds"].Value).Order().ToList();
        Assert.Equal(perProject.Keys.Append(session).Order().ToList(), projects);
        Assert.Equal($"{projects.Count} projects", summary.Properties["Projects"].Value);
    }

    [Fact]
    public void CsvRowsWithTextNumbersAndNanosecondTimestampsAreAccepted()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        var rows = Enumerable.Range(0, 3).Select(i => PSInput.CsvRow(
            ("id", $"csv-{i}"), ("recorded_at", $"2025-11-20T11:11:2{i}.434037252Z"), ("locality", "fr-par-2"), ("principal_id", $"user-{i}"),
            ("source_ip", ""), ("product_name", "instance"), ("service_name", "scaleway.instance.v1.Api"), ("method_name", "ListServers"),
            ("status_code", i == 2 ? "403" : "200"))).ToList();

        var summary = Assert.Single(ps.Run("$rows | Send-AuditEvent -PassThru", ("rows", rows)).ThrowOnError().Output);

        Assert.Equal(3, summary.Properties["Accepted"].Value);
        var forbidden = Assert.Single(ps.Run("Get-AuditEvent -StatusCode 403 -RecordedAfter $since", ("since", Since)).ThrowOnError().Output);
        Assert.Equal("csv-2", forbidden.Properties["Id"].Value);
        Assert.Equal(403, forbidden.Properties["StatusCode"].Value);
        Assert.Null(forbidden.Properties["SourceIp"].Value);
        Assert.Equal("fr-par-2", forbidden.Properties["Locality"].Value);
        Assert.Equal(project, forbidden.Properties["ProjectId"].Value);
    }

    [Fact]
    public void OneBadEventInABatchIsOneErrorAndTheOthersAreStored()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        var rows = Enumerable.Range(0, 5).Select(i => PSInput.CsvRow(
            ("id", $"batch-{i}"), ("recorded_at", "2025-11-20T10:00:00Z"), ("locality", "nl-ams"), ("method_name", "GetServer"),
            ("status_code", i == 3 ? "999" : "200"))).ToList();

        var run = ps.Run("$rows | Send-AuditEvent -PassThru", ("rows", rows));

        var error = Assert.Single(run.Errors);
        Assert.Equal("InvalidAuditEvent,AuditOrleans.PowerShell.Cmdlets.SendAuditEventCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Contains("index 3", error.Exception.Message);
        Assert.Contains("batch-3", error.Exception.Message);
        Assert.Contains("status_code", error.Exception.Message);
        Assert.Same(rows[3].BaseObject, ((PSObject)error.TargetObject).BaseObject);
        var summary = Assert.Single(run.Output);
        Assert.Equal((4, 1), ((int)summary.Properties["Accepted"].Value, (int)summary.Properties["Rejected"].Value));
        Assert.Equal(4, ps.Run("Get-AuditEvent -Region nl-ams -RecordedAfter $since", ("since", Since)).ThrowOnError().Output.Count);
    }

    [Fact]
    public void ValuesThatCannotBeConvertedAreCaughtBeforeSendingAndNamed()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());
        var rows = new[]
        {
            PSInput.CsvRow(("id", "ok-1"), ("status_code", "200"), ("method_name", "A")),
            PSInput.CsvRow(("id", "bad-status"), ("status_code", "two hundred"), ("method_name", "B")),
            PSInput.CsvRow(("id", "bad-time"), ("status_code", "200"), ("recorded_at", "yesterday"), ("method_name", "C")),
            PSInput.CsvRow(("id", "ok-2"), ("status_code", "204"), ("method_name", "D")),
        };

        var run = ps.Run("$rows | Send-AuditEvent -PassThru", ("rows", rows));

        Assert.Equal(2, run.Errors.Count);
        Assert.Contains("index 1", run.Errors[0].Exception.Message);
        Assert.Contains("status_code 'two hundred'", run.Errors[0].Exception.Message);
        Assert.Contains("index 2", run.Errors[1].Exception.Message);
        Assert.Contains("recorded_at 'yesterday'", run.Errors[1].Exception.Message);
        var summary = Assert.Single(run.Output);
        Assert.Equal((4, 2, 2), ((int)summary.Properties["Total"].Value, (int)summary.Properties["Accepted"].Value, (int)summary.Properties["Rejected"].Value));
    }

    [Fact]
    public void ResendingCountsDuplicatesAndStoresOnce()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        const string script = "Send-AuditEvent -Id 'dup-1' -MethodName CreateServer -ProductName instance -Locality pl-waw-1 -StatusCode 201 -RecordedAt '2025-11-20T10:00:00Z' -PassThru";

        var first = Assert.Single(ps.Run(script).ThrowOnError().Output);
        var second = Assert.Single(ps.Run(script).ThrowOnError().Output);

        Assert.Equal((1, 0), ((int)first.Properties["Accepted"].Value, (int)first.Properties["Duplicates"].Value));
        Assert.Equal((0, 1), ((int)second.Properties["Accepted"].Value, (int)second.Properties["Duplicates"].Value));
        Assert.Single(ps.Run("Get-AuditEvent -Region pl-waw -RecordedAfter $since", ("since", Since)).ThrowOnError().Output);
    }

    [Fact]
    public void LargeSendsGoInBatchesAndReportProgress()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());
        var rows = Enumerable.Range(0, 1200).Select(i => PSInput.CsvRow(
            ("id", $"bulk-{i:D4}"), ("recorded_at", new DateTime(2025, 11, 20, 8, 0, 0, DateTimeKind.Utc).AddSeconds(i).ToString("O")),
            ("locality", "fr-par"), ("method_name", i % 2 == 0 ? "ListServers" : "GetServer"), ("principal_id", $"p-{i % 3}"), ("status_code", "200"))).ToList();

        var run = ps.Run("$rows | Send-AuditEvent -BatchSize 250 -PassThru", ("rows", rows)).ThrowOnError();

        Assert.Equal(1200, Assert.Single(run.Output).Properties["Accepted"].Value);
        Assert.True(run.Progress >= 4, $"{run.Progress} progress records");
    }

    [Fact]
    public void OversizedEventsAreOneErrorEachAndTheRestOfThePipelineIsSent()
    {
        var project = PowerShellClusterFixture.NewProjectId();
        using var ps = fixture.Connect(project);
        var hugeBody = "{\"blob\":\"" + new string('b', 300 * 1024) + "\"}";
        var rows = Enumerable.Range(0, 5).Select(i => PSInput.CsvRow(
            ("id", $"size-{i}"), ("recorded_at", "2025-11-20T10:00:00Z"), ("locality", "fr-par"), ("method_name", "GetServer"), ("status_code", "200"),
            ("user_agent", i == 1 ? new string('u', 2000) : "curl/8"), ("request_body", i == 3 ? hugeBody : "{}"))).ToList();

        var run = ps.Run("$rows | Send-AuditEvent -PassThru", ("rows", rows));

        Assert.Equal(2, run.Errors.Count);
        var agent = run.Errors.Single(static e => e.Exception.Message.Contains("size-1", StringComparison.Ordinal));
        Assert.Equal("InvalidAuditEvent,AuditOrleans.PowerShell.Cmdlets.SendAuditEventCommand", agent.FullyQualifiedErrorId);
        Assert.Contains("user_agent", agent.Exception.Message);
        Assert.Contains("at most 1024", agent.Exception.Message);
        var body = run.Errors.Single(static e => e.Exception.Message.Contains("size-3", StringComparison.Ordinal));
        Assert.Equal("InvalidAuditEvent,AuditOrleans.PowerShell.Cmdlets.SendAuditEventCommand", body.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.LimitsExceeded, body.CategoryInfo.Category);
        Assert.Contains("request_body", body.Exception.Message);
        Assert.Contains("256 KiB", body.Exception.Message);
        Assert.Same(rows[3].BaseObject, ((PSObject)body.TargetObject).BaseObject);

        var summary = Assert.Single(run.Output);
        Assert.Equal((3, 2), ((int)summary.Properties["Accepted"].Value, (int)summary.Properties["Rejected"].Value));
        var stored = ps.Run("Get-AuditEvent -Region fr-par -RecordedAfter $since", ("since", Since)).ThrowOnError().Output;
        Assert.Equal(["size-0", "size-2", "size-4"], stored.Select(static e => (string)e.Properties["Id"].Value).Order());
    }

    [Fact]
    public void BatchesAreSplitBySizeToStayUnderTheClustersLimit()
    {
        using var ps = fixture.Connect(PowerShellClusterFixture.NewProjectId());

        // 90 events of about 195 KiB: each under the per-event limit, together over the 16 MiB a batch may hold.
        var body = "{\"blob\":\"" + new string('b', 60 * 1024) + "\"}";
        var resources = "[" + string.Join(",", Enumerable.Range(0, 9).Select(i => $"{{\"id\":\"r{i}\",\"type\":\"t\",\"x\":\"{new string('d', 15 * 1024)}\"}}")) + "]";
        var rows = Enumerable.Range(0, 90).Select(i => PSInput.CsvRow(
            ("id", $"heavy-{i}"), ("recorded_at", "2025-11-20T10:00:00Z"), ("locality", "nl-ams"), ("status_code", "200"),
            ("request_body", body), ("Resources", resources))).ToList();

        var run = ps.Run("$rows | Send-AuditEvent -PassThru", ("rows", rows)).ThrowOnError();

        Assert.Equal(90, Assert.Single(run.Output).Properties["Accepted"].Value);
        Assert.True(run.Progress >= 4, $"{run.Progress} progress records: the events were not split into several batches");
    }
}
