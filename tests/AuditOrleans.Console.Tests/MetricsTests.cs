using System.Globalization;
using System.Net;
using Xunit;

namespace AuditOrleans.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class MetricsTests(ConsoleHostFixture fixture)
{
    [Fact]
    public async Task CountersFollowIngestionDetectionAndRejection()
    {
        var project = ConsoleHostFixture.NewProjectId();
        await fixture.Client.GetGrain<INotificationContactsGrain>(project).AddAsync("metrics@example.com", NotificationType.Security);
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyCreated);
        var before = await ScrapeAsync();
        var t = Events.Now().AddMinutes(-5);
        var forbidden = Events.Call(project, t, 403, region: "pl-waw");
        var created = Events.CreateApiKey(project, t.AddSeconds(1)); // iam: a global product, counted in fr-par
        var ok = Events.Call(project, t.AddSeconds(2), region: "pl-waw");
        var invalid = Events.Call(project, t, region: "pl-waw") with { StatusCode = 999 };

        var first = await fixture.SendAsync(project, forbidden, created, ok, invalid);
        var again = await fixture.SendAsync(project, forbidden);
        Assert.Equal((3, 1), (first.Accepted, first.Rejected));
        Assert.Equal(1, again.Duplicates);
        await fixture.ReadEmailLinkAsync(project);

        // The outbox writes the email, then records the delivery: wait for the counter.
        var after = await ScrapeUntilAsync(s => s.Sum("auditorleans_notifications_delivered_total", "alert=\"ApiKeyCreated\"", "region=\"fr-par\"") > before.Sum("auditorleans_notifications_delivered_total", "alert=\"ApiKeyCreated\"", "region=\"fr-par\""));

        Assert.Equal(2, Delta("auditorleans_events_accepted_total", "region=\"pl-waw\""));
        Assert.Equal(1, Delta("auditorleans_events_accepted_total", "region=\"fr-par\""));
        Assert.Equal(1, Delta("auditorleans_events_rejected_total", "region=\"pl-waw\""));
        Assert.Equal(1, Delta("auditorleans_events_duplicated_total", "region=\"pl-waw\""));
        Assert.Equal(1, Delta("auditorleans_events_forbidden_total", "region=\"pl-waw\""));
        Assert.Equal(1, Delta("auditorleans_alerts_fired_total", "alert=\"ApiKeyCreated\"", "region=\"fr-par\""));
        Assert.True(Delta("auditorleans_detector_activations_total", "region=\"pl-waw\"") >= 1, "A new project-region activates its detector.");
        Assert.Equal(2, Delta("auditorleans_ingest_duration_seconds_count"));
        Assert.Equal(2, Delta("auditorleans_ingest_duration_seconds_bucket", "le=\"+Inf\""));
        Assert.Equal(1, Delta("auditorleans_notifications_delivered_total", "alert=\"ApiKeyCreated\"", "region=\"fr-par\""));
        Assert.Equal(1, Delta("auditorleans_notifications_deliveries_total", "channel=\"email\"", "outcome=\"delivered\""));
        Assert.Contains("# TYPE auditorleans_ingest_duration_seconds histogram", after.Text, StringComparison.Ordinal);
        // The series name the service: auditorleans, not OpenTelemetry's unknown_service:<process>.
        Assert.Contains("service_name=\"auditorleans\"", after.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("unknown_service", after.Text, StringComparison.Ordinal);

        double Delta(string name, params string[] labels) => after.Sum(name, labels) - before.Sum(name, labels);
    }

    [Fact]
    public async Task TheGrafanaDashboardQueriesTheExportedMetrics()
    {
        var dashboard = File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", "grafana", "auditorleans-dashboard.json"));
        using var json = System.Text.Json.JsonDocument.Parse(dashboard);
        var names = System.Text.RegularExpressions.Regex.Matches(dashboard, "auditorleans_[a-z_]+").Select(static m => m.Value).ToHashSet();
        Assert.Equal(10, names.Count);

        var project = ConsoleHostFixture.NewProjectId();
        await fixture.Client.GetGrain<INotificationContactsGrain>(project).AddAsync("dashboard@example.com", NotificationType.Security);
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyCreated);
        await fixture.SendAsync(project, Events.CreateApiKey(project, Events.Now().AddMinutes(-1)), Events.Call(project, Events.Now(), 200) with { StatusCode = 42 });
        await fixture.SendAsync(project, Events.Call(project, Events.Now().AddMinutes(-1), 403) with { Id = "dup-" + project }, Events.Call(project, Events.Now().AddMinutes(-1), 403) with { Id = "dup-" + project });
        await fixture.ReadEmailLinkAsync(project);
        var scrape = await ScrapeUntilAsync(static s => s.Text.Contains("\nauditorleans_notifications_delivered_total", StringComparison.Ordinal));

        // Failed deliveries only appear once an SMTP server has refused something; every other series is there by now.
        foreach (var name in names.Where(static n => n != "auditorleans_notifications_failed_total"))
        {
            Assert.True(scrape.Text.Contains("\n" + name, StringComparison.Ordinal), $"{name} (queried by the dashboard) is not exported.");
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AuditOrleans.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("AuditOrleans.sln not found above the test output.");
    }

    private async Task<Scrape> ScrapeUntilAsync(Func<Scrape, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var scrape = await ScrapeAsync();
            if (condition(scrape) || DateTime.UtcNow > deadline)
            {
                return scrape;
            }

            await Task.Delay(50);
        }
    }

    private async Task<Scrape> ScrapeAsync()
    {
        using var session = fixture.NewSession();
        var response = await session.GetAsync("/metrics", fixture.OwnerKey);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return new Scrape(response.Body);
    }

    /// <summary>A Prometheus text exposition, read the way a scraper reads it.</summary>
    private sealed record Scrape(string Text)
    {
        public double Sum(string name, params string[] labels)
        {
            var total = 0.0;
            foreach (var line in Text.Split('\n'))
            {
                if (line.StartsWith('#') || !line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || line[name.Length] is not ('{' or ' '))
                {
                    continue;
                }

                var labelEnd = line.LastIndexOf('}');
                var labelText = labelEnd > 0 ? line[(name.Length + 1)..labelEnd] : "";
                if (labels.All(l => labelText.Split(',').Contains(l)))
                {
                    var fields = line[(labelEnd + 1)..].Trim().Split(' ');
                    total += double.Parse(fields[0], CultureInfo.InvariantCulture);
                }
            }

            return total;
        }
    }
}
