using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace AuditOrleans.Console.Tests;

/// <summary>
/// The console in a real browser: one headless Chromium run (scenarios.mjs) over data set up
/// through the engine, shared by the facts below; each page is saved as a PNG in
/// <c>screenshots/</c> of the test output directory.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class BrowserTests(ConsoleHostFixture fixture)
{
    private static readonly string[] Toggled = ["ApiKeyDeleted", "HttpForbiddenErrorRateHigh"];

    public static string ScreenshotDirectory => Path.Combine(AppContext.BaseDirectory, "screenshots");

    [BrowserFact]
    public async Task TheLinkOfARealAlertEmailShowsTheEventAfterSignIn()
    {
        var run = await RunAsync();
        var s = Scenario(run, "alertLink");

        Assert.Contains("/sign-in?return_url=", (string)s["signInUrl"]!, StringComparison.Ordinal);
        Assert.Equal(run.AlertLink, (string)s["finalUrl"]!);
        Assert.Equal([run.EventId], s["eventIds"]!.AsArray().Select(static e => (string)e!));
        Assert.Equal(Events.Local(run.Fired.WindowStart), (string)s["recordedAfter"]!);
        Assert.Equal(Events.Local(run.Fired.WindowEnd), (string)s["recordedBefore"]!);
        Assert.Equal("CreateAPIKey", (string)s["methodName"]!);
        Assert.Equal("fr-par", (string)s["region"]!);
        var session = s["cookies"]!.AsArray().Single(static c => (string)c!["name"]! == "auditorleans_session")!;
        Assert.True((bool)session["httpOnly"]!);
        Assert.True((bool)session["secure"]!);
        Assert.Equal("Strict", (string)session["sameSite"]!);
        Assert.Equal(-1, (double)session["expires"]!); // a session cookie
    }

    [BrowserFact]
    public async Task TwoAlertsToggledAndSavedAreShownAppliedAndKeptAfterReload()
    {
        var run = await RunAsync();
        var s = Scenario(run, "toggle");

        Assert.Empty(s["before"]!.AsArray());
        Assert.Equal(Toggled, s["afterSave"]!.AsArray().Select(static e => (string)e!));
        Assert.Contains("Changes saved: ApiKeyDeleted activated, HttpForbiddenErrorRateHigh activated.", (string)s["notice"]!, StringComparison.Ordinal);
        Assert.Equal(Toggled, s["afterReload"]!.AsArray().Select(static e => (string)e!));
        Assert.Equal("nl-ams", (string)s["region"]!);
        var stored = await fixture.Client.GetGrain<IAlertConfigGrain>(Scope.Key(run.ProjectId, "nl-ams")).GetAsync();
        Assert.Equal([AlertName.ApiKeyDeleted, AlertName.HttpForbiddenErrorRateHigh], stored.Active.Order());
        Assert.Equal(1, stored.Version);
    }

    [BrowserFact]
    public async Task TheAlertHistoryShowsTheFiringAndItsDelivery()
    {
        var run = await RunAsync();
        var s = Scenario(run, "toggle");

        Assert.Equal(["ApiKeyCreated"], s["history"]!.AsArray().Select(static e => (string)e!));
        var delivery = Assert.Single(s["deliveries"]!.AsArray().Select(static e => (string)e!));
        Assert.StartsWith("browser-secops@example.com Delivered delivered ", delivery, StringComparison.Ordinal);
    }

    [BrowserFact]
    public async Task AReadOnlyKeySeesTheCheckboxesAndSaveDisabled()
    {
        var run = await RunAsync();
        var s = Scenario(run, "readOnly");

        var boxes = s["boxes"]!.AsArray();
        Assert.Equal(5, boxes.Count);
        Assert.All(boxes, static b => Assert.True((bool)b!["disabled"]!));
        Assert.Equal(Toggled, boxes.Where(static b => (bool)b!["checked"]!).Select(static b => (string)b!["value"]!));
        Assert.True((bool)s["saveDisabled"]!);
        Assert.Contains("can view these alerts but not change them", (string)s["note"]!, StringComparison.Ordinal);
    }

    [BrowserFact]
    public async Task EveryPageHasAScreenshot()
    {
        var run = await RunAsync();
        var screenshots = run.Report["screenshots"]!.AsArray().Select(static e => (string)e!).ToList();

        Assert.True(screenshots.Count >= 11, $"Only {screenshots.Count} screenshots were taken.");
        Assert.DoesNotContain(screenshots, static s => s.Contains("-error", StringComparison.Ordinal));
        foreach (var path in screenshots)
        {
            var bytes = await File.ReadAllBytesAsync(path);
            Assert.True(bytes.Length > 5_000, $"{path} is too small to be a rendered page.");
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        }
    }

    [BrowserFact]
    public async Task SigningInLandsOnTheOverviewWhichShowsTheFirings()
    {
        var run = await RunAsync();
        var s = Scenario(run, "workspace");

        Assert.Equal("/", (string)s["landing"]!);
        var overview = s["overview"]!;
        Assert.Equal(["ApiKeyCreated", "HttpForbiddenErrorRateHigh"], overview["recent"]!.AsArray().Select(static e => (string)e!).Order());
        Assert.Equal(["firings-24h", "firings-7d", "forbidden-24h"], overview["charts"]!.AsArray().Select(static c => (string)c!["id"]!));
        Assert.All(overview["charts"]!.AsArray(), static c => Assert.True((int)c!["width"]! > 900, $"{c} is not drawn at the page's width."));
        Assert.Equal(Incident.Attacker, (string)overview["topPrincipal"]!);
    }

    [BrowserFact]
    public async Task TheProvidersExportReadsAt1280PixelsAndDownloadsAsItWasSent()
    {
        var run = await RunAsync();
        var trail = Scenario(run, "workspace")["trail"]!;

        Assert.Equal(run.Provider.Count, (int)trail["rows"]!);
        // No user-agent column one word per line: every row stays a few lines high.
        Assert.True((double)trail["tallestRow"]! < 140, $"A row is {trail["tallestRow"]} px high.");
        Assert.Equal("datetime-local", (string)trail["afterType"]!);
        var download = trail["download"]!;
        Assert.EndsWith(".jsonl", (string)download["name"]!, StringComparison.Ordinal);
        var lines = download["lines"]!.AsArray().Select(static l => (string)l!).ToList();
        // The provider's events as sent (in the provider's format), oldest first.
        Assert.Equal(run.Provider.OrderBy(static e => e.RecordedAt).Select(static e => e.Id!), lines.Select(static l => AuditEventJson.Parse(l).Id!));
        Assert.Equal(run.Provider.OrderBy(static e => e.RecordedAt).Select(static e => AuditEventJson.Serialize(e with { Region = "fr-par" })), lines);
    }

    [BrowserFact]
    public async Task TheDetailPageShowsTheRequestBodyAndTheTimelineTheAttackInOrder()
    {
        var run = await RunAsync();
        var s = Scenario(run, "workspace");

        var detail = s["detail"]!;
        var body = (string)detail["requestBody"]!;
        using (var expected = JsonDocument.Parse(run.WithBody.RequestBody!))
        using (var shown = JsonDocument.Parse(body))
        {
            Assert.True(JsonElement.DeepEquals(expected.RootElement, shown.RootElement), body);
        }

        Assert.Contains("\n  \"", body, StringComparison.Ordinal); // indented
        Assert.Contains("Its link verifies", (string)detail["verified"]!, StringComparison.Ordinal);

        var incident = s["incident"]!;
        var seqs = incident["links"]!.AsArray().Select(static l => int.Parse(((string)l!).Split("seq=")[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var attack = run.Incident.Forbidden.Count + run.Incident.After.Count + 1;
        Assert.Equal(Enumerable.Range(run.Incident.Before.Count + 1, attack), seqs);
        Assert.Contains("principal mallory", incident["lanes"]!.AsArray().Select(static l => (string)l!));

        // Reached from the alert history with the keyboard alone; the lifecycle lists the firings.
        var keyboard = incident["keyboard"]!;
        Assert.Equal("skip", (string)keyboard["firstFocus"]!);
        Assert.Equal($"/incident?project_id={run.Incident.ProjectId}&firing={run.Incident.RateFiring.Id}", (string)keyboard["reached"]!);
        Assert.EndsWith($"/incident?project_id={run.Incident.ProjectId}&firing={run.Incident.RateFiring.Id}", (string)keyboard["url"]!, StringComparison.Ordinal);
        Assert.Contains("step-firing", incident["lifecycle"]!.AsArray().Select(static l => (string)l!));
    }

    [BrowserFact]
    public async Task NoPageScrollsSidewaysAt1280Pixels()
    {
        var run = await RunAsync();
        var s = Scenario(run, "workspace");

        foreach (var page in new[] { "overview", "trail", "detail", "incident" })
        {
            var width = s[page]!["width"]!;
            Assert.True((int)width["scroll"]! <= (int)width["client"]!, $"The {page} page is {width["scroll"]} px wide in a {width["client"]} px window.");
        }
    }

    private static JsonObject Scenario(BrowserRun run, string name)
    {
        var scenario = run.Report["scenarios"]?[name]?.AsObject() ?? throw new InvalidOperationException($"The browser run has no '{name}' scenario:\n{run.Report}");
        return scenario["error"] is { } error ? throw new InvalidOperationException($"Scenario '{name}' failed in the browser:\n{error}") : scenario;
    }

    private Task<BrowserRun> RunAsync() => fixture.SharedAsync("browser", async () =>
    {
        if (BrowserSetup.Problem is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        // A real alert: an enabled alert, a Security contact, the event, and the email it produced.
        var project = ConsoleHostFixture.NewProjectId("b");
        await fixture.Client.GetGrain<INotificationContactsGrain>(project).AddAsync("browser-secops@example.com", NotificationType.Security);
        await fixture.EnableAsync(project, "fr-par", AlertName.ApiKeyCreated);
        var created = Events.CreateApiKey(project, Events.Now().AddMinutes(-2));
        await fixture.SendAsync(project, created);
        var link = await fixture.ReadEmailLinkAsync(project);
        var (readOnlyKey, _) = await fixture.NewKeyAsync(ApiKeyRole.ReadOnly, project);
        var fired = (await fixture.Client.GetGrain<IAuditLogGrain>(0).GetAlertHistoryAsync(new AlertHistoryQuery { ProjectId = project })).Single();
        await fixture.WaitForDeliveryAsync(project);

        // The incident workspace: a generated attack, and the provider's real export in a project of its own.
        var incident = await fixture.SharedAsync("incident", () => Incident.CreateAsync(fixture));
        var providerProject = ConsoleHostFixture.NewProjectId("bp");
        var provider = ProviderEvents.For(providerProject);
        await fixture.SendAsync(providerProject, [.. provider]);
        var (from, to) = ProviderEvents.Range;
        var withBody = provider.First(static e => e.RequestBody is not null && e.Resources is { Count: > 0 });
        var detail = await fixture.Client.GetGrain<IAuditLogGrain>(0).FindEventAsync(providerProject, withBody.Id!);

        Directory.CreateDirectory(ScreenshotDirectory);
        var configPath = Path.Combine(Path.GetTempPath(), $"auditorleans-browser-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(configPath, JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["chromium"] = BrowserSetup.Chromium,
            ["baseUrl"] = fixture.BaseUrl,
            ["screenshotDir"] = ScreenshotDirectory,
            ["ownerKey"] = fixture.OwnerKey,
            ["readOnlyKey"] = readOnlyKey,
            ["projectId"] = project,
            ["alertLink"] = link,
            ["toggleRegion"] = "nl-ams",
            ["toggle"] = Toggled,
            ["incidentProject"] = incident.ProjectId,
            ["firingId"] = incident.RateFiring.Id,
            ["providerTrail"] = $"{fixture.BaseUrl}/audit-trail?project_id={providerProject}&recorded_after={Events.Iso(from)}&recorded_before={Events.Iso(to)}&page_size=100",
            ["detailUrl"] = fixture.BaseUrl + "/audit-trail/event?project_id=" + providerProject + "&region=" + detail!.Record.Region + "&seq=" + detail.Record.Sequence,
        }));
        try
        {
            var report = await RunNodeAsync(configPath);
            return new BrowserRun(project, link, created.Id!, fired, report, incident, provider, withBody);
        }
        finally
        {
            File.Delete(configPath); // it holds a key
        }
    });

    private static async Task<JsonObject> RunNodeAsync(string configPath)
    {
        var start = new ProcessStartInfo(BrowserSetup.Node!)
        {
            WorkingDirectory = BrowserSetup.ScriptDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("scenarios.mjs");
        start.ArgumentList.Add(configPath);
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await node.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            throw new TimeoutException("The browser scenarios did not finish within 120 s. stderr:\n" + await stderr);
        }

        var output = await stdout;
        if (node.ExitCode != 0 || output.Length == 0)
        {
            throw new InvalidOperationException($"node scenarios.mjs exited with {node.ExitCode}. stderr:\n{await stderr}\nstdout:\n{output}");
        }

        return JsonNode.Parse(output)!.AsObject();
    }

    private sealed record BrowserRun(string ProjectId, string AlertLink, string EventId, FiredAlert Fired, JsonObject Report, Incident Incident, IReadOnlyList<AuditEvent> Provider, AuditEvent WithBody);
}
