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

        Assert.True(screenshots.Count >= 7, $"Only {screenshots.Count} screenshots were taken.");
        Assert.DoesNotContain(screenshots, static s => s.Contains("-error", StringComparison.Ordinal));
        foreach (var path in screenshots)
        {
            var bytes = await File.ReadAllBytesAsync(path);
            Assert.True(bytes.Length > 5_000, $"{path} is too small to be a rendered page.");
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
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
        }));
        try
        {
            var report = await RunNodeAsync(configPath);
            return new BrowserRun(project, link, created.Id!, fired, report);
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

    private sealed record BrowserRun(string ProjectId, string AlertLink, string EventId, FiredAlert Fired, JsonObject Report);
}
