using System.Globalization;
using System.Text;
using AuditOrleans.Testing;
using Orleans;
using Orleans.Runtime;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// Hostile input on the ingestion path: thousands of seeded random events, valid ones pushed to
/// the limits and invalid ones broken in one field, mixed in the same batches, sent through the
/// real ingest grain; malformed provider JSON through <see cref="AuditEventJson"/>; hostile grain
/// keys. Every event that is accepted must read back, page, export, render and verify
/// (<see cref="EventRoundTrip"/>). Set AUDITORLEANS_FUZZ_SEED to replay a failure: every
/// assertion message carries the seed.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IngestionFuzzTests(AuditClusterFixture fixture)
{
    private const int Batches = 30;

    private static int NewSeed() =>
        int.TryParse(Environment.GetEnvironmentVariable("AUDITORLEANS_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : Random.Shared.Next();

    [Fact]
    public async Task RandomAndMalformedEventsAreAnsweredPerEventAndOnlyTheValidOnesAreStoredOnce()
    {
        var seed = NewSeed();
        var rng = new Random(seed);
        var now = fixture.Clock.GetUtcNow();
        var project = AuditClusterFixture.NewProjectId("fz");
        var orgProject = AuditClusterFixture.NewProjectId("fzorg");
        var gen = new FuzzEvents(rng, now, project, orgProject);
        var ingest = fixture.Grains.GetGrain<IIngestGrain>(0);
        var logLinesBefore = fixture.Logs.Lines.Count;

        // Single-event alerts on in one region, so that firings are computed for odd events too.
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par"))
            .SetActiveAsync(AlertCatalog.All.ToDictionary(static a => a.Name, static _ => true));

        var expected = new Dictionary<string, FuzzCase>(StringComparer.Ordinal);
        var storedWithId = new List<FuzzCase>();
        int sent = 0, invalidSent = 0;
        for (var b = 0; b < Batches; b++)
        {
            var size = rng.Next(10) == 0 ? rng.Next(1, 5) : rng.Next(40, 220);
            var invalidShare = b % 9 == 4 ? 1.0 : b % 9 == 7 ? 0.0 : rng.NextDouble() * 0.8;
            var batch = new List<FuzzCase>(size);
            var duplicatesExpected = 0;
            for (var i = 0; i < size; i++)
            {
                if (storedWithId.Count > 0 && rng.NextDouble() < 0.03)
                {
                    // The same event again (same id, same project): counted as a duplicate, stored once.
                    batch.Add(storedWithId[rng.Next(storedWithId.Count)] with { Mutation = "duplicate" });
                    duplicatesExpected++;
                }
                else
                {
                    batch.Add(rng.NextDouble() < invalidShare ? gen.Invalid() : gen.Valid());
                }
            }

            // A duplicate inside the batch of an event first sent in this same batch.
            var fresh = batch.Where(static c => c.IsValid && c.TagIsId && c.Mutation is null).ToList();
            if (fresh.Count > 0 && rng.NextDouble() < 0.3)
            {
                batch.Insert(rng.Next(batch.Count + 1), fresh[rng.Next(fresh.Count)] with { Mutation = "duplicate" });
                duplicatesExpected++;
            }

            var context = $"seed {seed} (AUDITORLEANS_FUZZ_SEED={seed} to replay), batch {b} of {batch.Count} events";
            IngestResult result;
            try
            {
                result = await ingest.IngestAsync(project, [.. batch.Select(static c => c.Event!)]);
            }
            catch (Exception ex)
            {
                Assert.Fail($"{context}: ingestion threw {ex.GetType().Name}: {ex.Message}");
                throw;
            }

            var wantErrors = batch.Select((c, i) => (c, i)).Where(static x => !x.c.IsValid).ToDictionary(static x => x.i, static x => x.c);
            var gotErrors = result.Errors.ToDictionary(static e => e.Index);
            foreach (var (index, error) in gotErrors)
            {
                Assert.True(wantErrors.TryGetValue(index, out var bad),
                    $"{context}: valid event {index} ({Describe(batch[index])}) was rejected: {error.Field}: {error.Message}");
                Assert.True(bad.BadField == error.Field,
                    $"{context}: event {index} broken by '{bad.Mutation}' was rejected on '{error.Field}' instead of '{bad.BadField}': {error.Message}");
                Assert.False(string.IsNullOrWhiteSpace(error.Message), context);
                Assert.True(error.Message.Length < 2000, $"{context}: the message for event {index} is {error.Message.Length} characters long");
                Assert.DoesNotContain(error.Message, static c => char.IsControl(c));
            }

            foreach (var (index, bad) in wantErrors)
            {
                Assert.True(gotErrors.ContainsKey(index), $"{context}: invalid event {index} ({bad.Mutation}, field {bad.BadField}) was not rejected");
            }

            var newValid = batch.Where(static c => c.IsValid && c.Mutation is null).ToList();
            Assert.True(newValid.Count == result.Accepted, $"{context}: {result.Accepted} accepted, {newValid.Count} expected");
            Assert.True(duplicatesExpected == result.Duplicates, $"{context}: {result.Duplicates} duplicates, {duplicatesExpected} expected");
            foreach (var c in newValid)
            {
                expected.Add(c.ProjectId + "|" + c.Tag, c);
            }

            storedWithId.AddRange(newValid.Where(static c => c.TagIsId));
            sent += batch.Count;
            invalidSent += wantErrors.Count;
        }

        Assert.True(sent > 2500 && invalidSent > 600 && expected.Count > 1200, $"seed {seed}: only {sent} events sent, {invalidSent} invalid, {expected.Count} valid");

        // Every valid event is in the log exactly once, where it belongs, as sent; nothing else is.
        var log = fixture.Grains.GetGrain<IAuditLogGrain>(0);
        var found = new Dictionary<string, AuditRecord>(StringComparer.Ordinal);
        foreach (var p in new[] { project, orgProject })
        {
            foreach (var record in await ReadAllAsync(log, p, now))
            {
                var e = record.Event;
                var key = p + "|" + e.Id;
                var byRequest = p + "|" + e.RequestId;
                var tag = expected.ContainsKey(key) && expected[key].TagIsId ? key
                    : e.RequestId is not null && expected.TryGetValue(byRequest, out var c) && !c.TagIsId ? byRequest
                    : null;
                Assert.True(tag is not null, $"seed {seed}: the log of {p} holds an event that was not a valid one sent: id '{Scope.Printable(e.Id)}'");
                Assert.True(found.TryAdd(tag, record), $"seed {seed}: event {Scope.Printable(tag)} is stored twice");
            }
        }

        foreach (var (tag, c) in expected)
        {
            Assert.True(found.TryGetValue(tag, out var record), $"seed {seed}: valid event {Scope.Printable(tag)} ({Describe(c)}) is not in the log");
            var sentEvent = c.Event!;
            var stored = record.Event;
            var where = $"seed {seed}: event {Scope.Printable(tag)}";
            Assert.True(c.ProjectId == record.ProjectId, $"{where} is in project {record.ProjectId}, not {c.ProjectId}");
            Assert.True(c.Region == record.Region, $"{where} (locality '{Scope.Printable(sentEvent.Locality)}', product '{Scope.Printable(sentEvent.ProductName)}') is in region {record.Region}, not {c.Region}");
            Assert.True(Same(sentEvent.UserAgent, stored.UserAgent), $"{where}: user_agent changed");
            Assert.True(Same(sentEvent.PrincipalId, stored.PrincipalId), $"{where}: principal_id changed");
            Assert.True(Same(sentEvent.ServiceName, stored.ServiceName), $"{where}: service_name changed");
            Assert.True(sentEvent.StatusCode == stored.StatusCode, $"{where}: status_code changed");
            Assert.True((sentEvent.RequestBody == "null" ? null : sentEvent.RequestBody) == stored.RequestBody, $"{where}: request_body changed: sent {Scope.Printable(sentEvent.RequestBody, 300)}, stored {Scope.Printable(stored.RequestBody, 300)}");
            Assert.True((sentEvent.Resources?.Count ?? 0) == (stored.Resources?.Count ?? 0), $"{where}: resources changed");
            if (sentEvent.RecordedAt is { } at)
            {
                Assert.True((at - stored.RecordedAt!.Value).Duration() < TimeSpan.FromMicroseconds(1), $"{where}: recorded_at {at:O} stored as {stored.RecordedAt:O}");
            }
        }

        // The hash chains hold over all that Unicode.
        foreach (var p in new[] { project, orgProject })
        {
            foreach (var region in Scope.DefaultRegions)
            {
                var report = await log.VerifyAsync(p, region);
                Assert.True(report.IsValid, $"seed {seed}: chain {p}/{region} broken at {report.FirstBrokenSequence}: {report.Reason}");
            }
        }

        // Every accepted event reads back through every reader: pages of a random size, the
        // console's rendering, the module's export and output forms, the chain walk.
        foreach (var p in new[] { project, orgProject })
        {
            var pageSize = rng.Next(1, 300);
            var read = await EventRoundTrip.AssertReadableAsync(fixture.Grains, p, DateTimeOffset.UnixEpoch, now + TimeSpan.FromMinutes(10), pageSize, $"seed {seed}, page size {pageSize}");
            Assert.True(read.Count == found.Values.Count(r => r.ProjectId == p), $"seed {seed}: paging {p} by {pageSize} gave {read.Count} events");
        }

        // The silo is healthy: a plain event goes through and reads back.
        await AssertHealthyAsync(project);

        // Nothing on the ingestion path logged an error for all that input.
        var newLines = fixture.Logs.Lines.Skip(logLinesBefore).Where(static l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal)).ToList();
        Assert.True(newLines.Count == 0, $"seed {seed}: the silo logged errors:{Environment.NewLine}{string.Join(Environment.NewLine, newLines.Take(5))}");
    }

    [Fact]
    public async Task OversizedBatchesAreRefusedWholeWithTheLimitAndNothingIsStored()
    {
        var project = AuditClusterFixture.NewProjectId("fzb");
        var now = fixture.Clock.GetUtcNow();
        var ingest = fixture.Grains.GetGrain<IIngestGrain>(0);

        // Too many events.
        var many = Enumerable.Range(0, IngestLimits.MaxBatchEvents + 1).Select(_ => FuzzEvents.Plain(project, now)).ToList();
        var count = await Assert.ThrowsAsync<BatchRejectedException>(() => ingest.IngestAsync(project, many));
        Assert.Equal("events", count.Field);
        Assert.Equal(IngestLimits.MaxBatchEvents, count.Limit);
        Assert.Contains($"at most {IngestLimits.MaxBatchEvents} events", count.Message, StringComparison.Ordinal);

        // Too much text: 70 events of 250 KiB each are each fine, together over 16 MiB.
        var body = "{\"blob\":\"" + new string('b', IngestLimits.MaxRequestBodyBytes - 16) + "\"}";
        var details = "{\"x\":\"" + new string('d', IngestLimits.MaxResourceDetailsBytes - 16) + "\"}";
        var heavy = FuzzEvents.Plain(project, now) with
        {
            RequestBody = body,
            Resources = [.. Enumerable.Range(0, 11).Select(i => new AuditResource { Id = $"r{i}", Type = "t", Details = details })],
        };
        Assert.InRange(IngestLimits.Measure(heavy), 200 * 1024, IngestLimits.MaxEventBytes);
        var big = Enumerable.Range(0, 70).Select(i => heavy with { Id = $"big-{i}" }).ToList();
        var bytes = await Assert.ThrowsAsync<BatchRejectedException>(() => ingest.IngestAsync(project, big));
        Assert.Equal("batch_bytes", bytes.Field);
        Assert.Equal(IngestLimits.MaxBatchBytes, bytes.Limit);
        Assert.Contains("16 MiB", bytes.Message, StringComparison.Ordinal);
        Assert.Contains("split it into smaller batches", bytes.Message, StringComparison.Ordinal);

        // A bad default project.
        var defaultProject = await Assert.ThrowsAsync<BatchRejectedException>(() => ingest.IngestAsync("bad\u0001project", [FuzzEvents.Plain(project, now)]));
        Assert.Equal("default_project_id", defaultProject.Field);
        Assert.DoesNotContain('\u0001', defaultProject.Message);

        Assert.Empty(await ReadAllAsync(fixture.Grains.GetGrain<IAuditLogGrain>(0), project, now));

        // One such event in a batch that fits is one error; the rest of the batch is stored.
        var oneHeavy = heavy with { Id = "heavy", Resources = [.. Enumerable.Range(0, 30).Select(i => new AuditResource { Id = $"r{i}", Type = "t", Details = details })] };
        var result = await ingest.IngestAsync(project, [FuzzEvents.Plain(project, now), oneHeavy, FuzzEvents.Plain(project, now)]);
        Assert.Equal(2, result.Accepted);
        var error = Assert.Single(result.Errors);
        Assert.Equal((1, "heavy", "resources"), (error.Index, error.EventId, error.Field));
        Assert.Contains("256 KiB", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await ReadAllAsync(fixture.Grains.GetGrain<IAuditLogGrain>(0), project, now)).Count);
        await AssertHealthyAsync(project);
    }

    [Fact]
    public async Task MalformedProviderJsonIsAFormatErrorOrAnEventAnsweredPerEvent()
    {
        var seed = NewSeed();
        var rng = new Random(seed);
        var now = fixture.Clock.GetUtcNow();
        var project = AuditClusterFixture.NewProjectId("fzj");
        var lines = ProviderEventsTests.Lines();
        var ingest = fixture.Grains.GetGrain<IIngestGrain>(0);
        var parsed = new List<AuditEvent>();
        int formatErrors = 0, accepted = 0, rejected = 0;
        var acceptedIds = new HashSet<string>(StringComparer.Ordinal);

        for (var n = 0; n < 1500; n++)
        {
            var (document, how) = Mangle(rng, lines[rng.Next(lines.Count)]);
            AuditEvent e;
            try
            {
                e = AuditEventJson.Parse(document);
            }
            catch (FormatException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message), $"seed {seed}: empty message for '{how}'");
                formatErrors++;
                continue;
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed} (AUDITORLEANS_FUZZ_SEED={seed} to replay): parsing a document mangled by '{how}' threw {ex.GetType().Name}: {ex.Message}");
                throw;
            }

            // Keep the test's data its own: its project, a unique id.
            parsed.Add(e with { Id = $"json-{n}", ProjectId = project, OrganizationId = null });
            if (parsed.Count == 100 || n == 1499)
            {
                IngestResult result;
                try
                {
                    result = await ingest.IngestAsync(project, parsed);
                }
                catch (Exception ex)
                {
                    Assert.Fail($"seed {seed}: ingesting parsed provider events threw {ex.GetType().Name}: {ex.Message}");
                    throw;
                }

                var bad = result.Errors.Select(static x => x.Index).ToHashSet();
                Assert.True(result.Accepted + bad.Count == parsed.Count && result.Duplicates == 0,
                    $"seed {seed}: {result.Accepted} accepted + {bad.Count} rejected != {parsed.Count} sent");
                acceptedIds.UnionWith(parsed.Where((_, i) => !bad.Contains(i)).Select(static x => x.Id!));
                accepted += result.Accepted;
                rejected += bad.Count;
                parsed.Clear();
            }
        }

        Assert.True(formatErrors > 100 && accepted > 100 && rejected >= 10, $"seed {seed}: {formatErrors} format errors, {accepted} accepted, {rejected} rejected");
        var stored = (await ReadAllAsync(fixture.Grains.GetGrain<IAuditLogGrain>(0), project, now)).Select(static r => r.Event.Id!).ToList();
        Assert.True(stored.Count == stored.Distinct().Count(), $"seed {seed}: an event is stored twice");
        Assert.True(acceptedIds.SetEquals(stored), $"seed {seed}: {acceptedIds.Count} accepted, {stored.Count} stored, {acceptedIds.Except(stored).Count()} missing");
        await EventRoundTrip.AssertReadableAsync(fixture.Grains, project, DateTimeOffset.UnixEpoch, now + TimeSpan.FromMinutes(10), rng.Next(1, 300), $"seed {seed}");
        await AssertHealthyAsync(project);
    }

    [Fact]
    public async Task HostileGrainKeysActivateNothingEvenForTheOwner()
    {
        var project = AuditClusterFixture.NewProjectId("fzk");
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);
        string[] hostile =
        [
            $"{project}\u0001x/fr-par", $"{project}/us-east-1", $"{project}/fr-par-2", $"{project}", $"/fr-par", $"{project}/",
            $"{new string('p', 65)}/fr-par", $"{project}\u202e/nl-ams", $"{project} /fr-par", $"{project}/fr-par/x", new string('k', 10_000),
        ];

        foreach (var key in hostile)
        {
            foreach (var call in new Func<Task>[]
            {
                () => fixture.Grains.GetGrain<IAlertConfigGrain>(key).GetAsync(),
                () => fixture.Grains.GetGrain<IDetectorGrain>(key).GetStatusAsync(),
            })
            {
                var ex = await Assert.ThrowsAnyAsync<Exception>(call);
                Assert.True(ex.GetBaseException() is ArgumentException, $"key '{Scope.Printable(key)}': {ex.GetType().Name}: {ex.Message}");
                Assert.DoesNotContain('\u0001', ex.GetBaseException().Message);
            }
        }

        foreach (var key in new[] { $"{project}\u0001", $"{project}/fr-par", "", new string('c', 10_000) })
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => fixture.Grains.GetGrain<INotificationContactsGrain>(key).GetAsync());
            Assert.True(ex.GetBaseException() is ArgumentException, $"key '{Scope.Printable(key)}': {ex.GetType().Name}: {ex.Message}");
        }

        foreach (var type in new[] { "alertconfig", "detector", "notificationcontacts" })
        {
            var active = (await management.GetActiveGrains(GrainType.Create(type))).Select(static g => g.Key.ToString()!).ToList();
            Assert.DoesNotContain(active, k => k.Contains(project, StringComparison.Ordinal) || k.Length > 1000);
        }

        // The same grains with valid keys do activate (the check above can fail).
        await fixture.Grains.GetGrain<IAlertConfigGrain>(Scope.Key(project, "fr-par")).GetAsync();
        Assert.Contains((await management.GetActiveGrains(GrainType.Create("alertconfig"))).Select(static g => g.Key.ToString()!), k => k.Contains(project, StringComparison.Ordinal));
        await AssertHealthyAsync(project);
    }

    [Theory]
    [InlineData("{\"id\":\"\\ud800\",\"status_code\":200}")]
    [InlineData("{\"principal\":{\"id\":\"\\udc00\"},\"status_code\":200}")]
    [InlineData("{\"resources\":[{\"id\":\"r\",\"\\ud800\":1}],\"status_code\":200}")]
    [InlineData("{\"status_code\":\"2OO\"}")]
    [InlineData("{\"status_code\":1e400}")]
    [InlineData("{\"recorded_at\":\"yesterday\"}")]
    [InlineData("{\"id\":{}}")]
    [InlineData("[]")]
    [InlineData("{\"id\":\"a\"")]
    public void ParsingRefusesWhatItCannotReadWithAFormatException(string json) =>
        Assert.False(string.IsNullOrWhiteSpace(Assert.Throws<FormatException>(() => AuditEventJson.Parse(json)).Message));

    [Fact]
    public void ParsingTextWithARawUnpairedSurrogateIsAFormatException()
    {
        // Built at run time: a lone surrogate in an attribute argument would not survive compilation.
        var json = "{\"id\":\"" + (char)0xD800 + "\",\"status_code\":200}";
        Assert.Throws<FormatException>(() => AuditEventJson.Parse(json));
    }

    private async Task AssertHealthyAsync(string project)
    {
        var now = fixture.Clock.GetUtcNow();
        var plain = FuzzEvents.Plain(project, now, "pl-waw");
        var result = await fixture.Grains.GetGrain<IIngestGrain>(0).IngestAsync(project, [plain]);
        Assert.Equal(1, result.Accepted);
        var page = await fixture.Grains.GetGrain<IAuditLogGrain>(0).QueryAsync(new AuditQuery
        {
            ProjectId = project,
            Region = "pl-waw",
            RecordedAfter = now.AddMinutes(-1),
            RecordedBefore = now.AddMinutes(1),
            PrincipalId = null,
            PageSize = 1000,
        });
        Assert.Contains(page.Records, r => r.Event.Id == plain.Id);
    }

    private static async Task<List<AuditRecord>> ReadAllAsync(IAuditLogGrain log, string project, DateTimeOffset now)
    {
        var records = new List<AuditRecord>();
        var query = new AuditQuery
        {
            ProjectId = project,
            RecordedAfter = DateTimeOffset.UnixEpoch,
            RecordedBefore = now + TimeSpan.FromMinutes(10),
            Order = SortOrder.OldestFirst,
            PageSize = 1000,
        };
        do
        {
            var page = await log.QueryAsync(query);
            records.AddRange(page.Records);
            query = query with { ContinuationToken = page.ContinuationToken };
        }
        while (query.ContinuationToken is not null);

        return records;
    }

    /// <summary>A provider event line made malformed in one random way.</summary>
    private static (string Document, string How) Mangle(Random rng, string line)
    {
        switch (rng.Next(12))
        {
            case 0:
                var cut = rng.Next(line.Length);
                return (line[..cut], $"truncated at {cut}");
            case 1:
                var at = rng.Next(line.Length);
                const string replacements = "\"{}[],:\\\u0000\u0001\n\ud800\u202e0aZ-.";
                var replacement = replacements[rng.Next(replacements.Length)];
                return (line[..at] + replacement + line[(at + 1)..], $"char {at} -> U+{(int)replacement:X4}");
            case 2:
                var field = new[] { "status_code", "recorded_at", "id", "locality", "project_id", "source_ip", "principal", "resources", "request_body", "user_agent" }[rng.Next(10)];
                var value = new[]
                {
                    "null", "true", "[]", "{}", "\"\"", "1e400", "2147483648", "-1", "\"\\ud800\"", "\"\\u0000\"", "\"x\\u202ey\"", "[null]", "[1,2]",
                    "\"9999-99-99T99:99:99Z\"", "\"0001-01-01T00:00:00Z\"", "\"+275760-09-13T00:00:00Z\"", "{\"id\":{\"id\":1}}", "\"" + new string('a', 5000) + "\"",
                }[rng.Next(18)];
                return (SetField(line, field, value), $"{field} = {Scope.Printable(value, 40)}");
            case 3:
                return ("[" + line + "]", "wrapped in an array");
            case 4:
                return (new[] { "", " ", "null", "42", "\"text\"", "{", "}", "{}", "\ufeff{}", "{\"status_code\":200}" }[rng.Next(10)], "not an event");
            case 5:
                var deep = rng.Next(IngestLimits.MaxRequestBodyDepth - 1, 71);
                return (SetField(line, "request_body", EventRoundTrip.Nested(deep)), $"request_body nested {deep} deep");
            case 6:
                return (SetField(line, "resources", "[{\"id\":\"\\udc00\",\"type\":\"t\"},{\"\\ud800\":1}]"), "resources with lone surrogates");
            case 7:
                return (line.Replace("\"", "'", StringComparison.Ordinal), "single quotes");
            default:
                return (line, "as recorded");
        }
    }

    /// <summary>Sets a top-level field of a one-line JSON object (textually, so that any value can be written).</summary>
    private static string SetField(string line, string field, string value) =>
        line.TrimEnd().TrimEnd('}') + $",\"{field}\":{value}}}";

    private static bool Same(string? sent, string? stored) => (string.IsNullOrWhiteSpace(sent) ? null : sent) == stored;

    private static string Describe(FuzzCase c)
    {
        var e = c.Event;
        if (e is null)
        {
            return "null";
        }

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"id '{Scope.Printable(e.Id, 40)}', project '{Scope.Printable(e.ProjectId, 40)}', org '{Scope.Printable(e.OrganizationId, 40)}', ");
        sb.Append(CultureInfo.InvariantCulture, $"locality '{Scope.Printable(e.Locality, 40)}', product '{Scope.Printable(e.ProductName, 40)}', status {e.StatusCode}, at {e.RecordedAt:O}, ");
        sb.Append(CultureInfo.InvariantCulture, $"ip '{Scope.Printable(e.SourceIp, 40)}', ua {e.UserAgent?.Length} chars, body {e.RequestBody?.Length} chars, {e.Resources?.Count} resources");
        return sb.ToString();
    }
}
