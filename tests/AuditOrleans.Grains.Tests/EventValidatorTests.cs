using AuditOrleans.Grains.Ingestion;
using AuditOrleans.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

public sealed class EventValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
    private readonly EventValidator validator = new(Scope.DefaultRegions, new FakeTimeProvider(Now));

    private static AuditEvent Valid => new()
    {
        Id = "e-1",
        RecordedAt = Now.AddMinutes(-1),
        Locality = "fr-par",
        ProjectId = "p-1",
        PrincipalId = "user",
        SourceIp = "192.0.2.10",
        ProductName = "instance",
        MethodName = "ListServers",
        StatusCode = 200,
    };

    public static TheoryData<string, AuditEvent> BadEvents => new()
    {
        { "locality", Valid with { Locality = "us-east-1" } },
        { "status_code", Valid with { StatusCode = 42 } },
        { "status_code", Valid with { StatusCode = 600 } },
        { "status_code", Valid with { StatusCode = null } },
        { "source_ip", Valid with { SourceIp = "300.1.2.3" } },
        { "source_ip", Valid with { SourceIp = "1" } },
        { "source_ip", Valid with { SourceIp = "not-an-ip" } },
        { "project_id", Valid with { ProjectId = "has space" } },
        { "project_id", Valid with { ProjectId = new string('p', 65) } },
        { "organization_id", Valid with { ProjectId = null, OrganizationId = "bad/org" } },
        { "recorded_at", Valid with { RecordedAt = Now.AddMinutes(6) } },
        { "id", Valid with { Id = "a\u0001b" } },
        { "id", Valid with { Id = new string('x', 129) } },
        { "principal_id", Valid with { PrincipalId = "x\ny" } },
        { "user_agent", Valid with { UserAgent = new string('u', 1025) } },
        { "request_body", Valid with { RequestBody = "{not json" } },
        { "resources", Valid with { Resources = [.. Enumerable.Range(0, 101).Select(i => new AuditResource { Id = $"r{i}" })] } },
        { "resources[0].id", Valid with { Resources = [new AuditResource { Id = "r\u0000" }] } },

        // Hostile text: invisible formatting in ids, text that is not Unicode, line separators.
        { "id", Valid with { Id = "e-1\u202etxt.exe" } },
        { "id", Valid with { Id = "e-\ud800" } },
        { "principal_id", Valid with { PrincipalId = "user\u200b" } },
        { "user_agent", Valid with { UserAgent = "curl\ud800" } },
        { "user_agent", Valid with { UserAgent = "curl\u2028injected" } },
        { "resources[0].name", Valid with { Resources = [new AuditResource { Id = "r", Name = "n\u0000" }] } },
        { "resources[0].name", Valid with { Resources = [new AuditResource { Id = "r", Name = new string('n', 257) }] } },
        { "resources[0].type", Valid with { Resources = [new AuditResource { Id = "r", Type = "t\u0007" }] } },

        // A project id with a trailing line feed (a regex '$' would let it through).
        { "project_id", Valid with { ProjectId = "p-1\n" } },
        { "locality", Valid with { Locality = "fr-par\n" + new string('x', 64), ProductName = "iam" } },
        { "locality", Valid with { Locality = "fr-par\u0000" } },
        { "source_ip", Valid with { SourceIp = new string('1', 65) } },
        { "recorded_at", Valid with { RecordedAt = DateTimeOffset.MinValue } },
        { "recorded_at", Valid with { RecordedAt = DateTimeOffset.MaxValue } },
        { "recorded_at", Valid with { RecordedAt = new DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero) } },
        { "status_code", Valid with { StatusCode = int.MinValue } },

        // JSON that is not Unicode, or that could not be read back.
        { "request_body", Valid with { RequestBody = "{\"a\":\"\\ud800\"}" } },
        { "request_body", Valid with { RequestBody = "{\"a\":\"\ud800\"}" } },
        { "request_body", Valid with { RequestBody = "{\"\\udc00\":1}" } },
        { "request_body", Valid with { RequestBody = new string('[', 65) + new string(']', 65) } },
        { "request_body", Valid with { RequestBody = "" } },
        { "request_body", Valid with { RequestBody = "{\"b\":\"" + new string('x', 64 * 1024) + "\"}" } },
        { "resources[0]", Valid with { Resources = [new AuditResource { Id = "r", Details = "{\"id\":\"other\"}" }] } },
        { "resources[0]", Valid with { Resources = [new AuditResource { Id = "r", Details = "[1]" }] } },
        { "resources[1]", Valid with { Resources = [new AuditResource { Id = "r" }, null!] } },

        // Each field within its limit, the event over 256 KiB: the largest field is named.
        {
            "resources", Valid with
            {
                Resources = [.. Enumerable.Range(0, 20).Select(i => new AuditResource { Id = $"r{i}", Details = "{\"x\":\"" + new string('d', 16 * 1024 - 16) + "\"}" })],
            }
        },
    };

    [Fact]
    public void ValuesAtTheirLimitsAreAccepted()
    {
        var e = Valid with
        {
            Id = new string('i', IngestLimits.MaxIdLength),
            RecordedAt = DateTimeOffset.UnixEpoch,
            PrincipalId = "utilisateur-é-日本-😀",
            UserAgent = new string('u', IngestLimits.MaxUserAgentLength - 2) + "👩",
            ServiceName = new string('s', IngestLimits.MaxNameLength),
            RequestBody = "{\"b\":\"" + new string('x', IngestLimits.MaxRequestBodyBytes - 8) + "\"}",
            Resources = [.. Enumerable.Range(0, IngestLimits.MaxResources).Select(i => new AuditResource { Id = $"r{i}", Name = "zwj 👩\u200d💻 \u202e ok" })],
        };
        var result = validator.Validate(e, 0, "default");
        Assert.Null(result.Error);
        Assert.Equal(e.RequestBody, result.Event!.RequestBody);
        Assert.NotNull(validator.Validate(Valid with { RecordedAt = Now + EventValidator.MaxFutureSkew }, 0, "default").Event);
    }

    [Theory]
    [MemberData(nameof(BadEvents))]
    public void BadFieldIsNamedWithAMessage(string field, AuditEvent e)
    {
        var result = validator.Validate(e, 3, "default");
        var error = Assert.IsType<EventError>(result.Error);
        Assert.Equal(field, error.Field);
        Assert.Equal(3, error.Index);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.DoesNotContain('\u0001', error.Message);
    }

    [Fact]
    public void UnknownRegionErrorListsTheValidOnes()
    {
        var error = validator.Validate(Valid with { Locality = "mars-1" }, 0, "default").Error!;
        Assert.Contains("fr-par", error.Message);
        Assert.Contains("nl-ams", error.Message);
        Assert.Contains("pl-waw", error.Message);
    }

    [Theory]
    [InlineData("global", "instance", "fr-par")]
    [InlineData("", "instance", "fr-par")]
    [InlineData(null, "instance", "fr-par")]
    [InlineData("nl-ams", "iam", "fr-par")]
    [InlineData("pl-waw", "account", "fr-par")]
    [InlineData("nl-ams", "edge-services", "fr-par")]
    [InlineData("fr-par-2", "instance", "fr-par")]
    [InlineData("nl-ams-1", "instance", "nl-ams")]
    [InlineData("PL-WAW", "instance", "pl-waw")]
    public void RoutesGlobalEventsAndZones(string? locality, string product, string region)
    {
        var e = validator.Validate(Valid with { Locality = locality, ProductName = product }, 0, "default").Event!;
        Assert.Equal(region, e.Region);
    }

    [Fact]
    public void OrganizationLevelEventsBelongToTheDefaultProjectOfTheOrganization()
    {
        var e = validator.Validate(Valid with { ProjectId = null, OrganizationId = "org-1" }, 0, "conn").Event!;
        Assert.Equal("org-1", e.ProjectId);

        var neither = validator.Validate(Valid with { ProjectId = null, OrganizationId = null }, 0, "conn").Event!;
        Assert.Equal("conn", neither.ProjectId);
    }

    [Fact]
    public void NormalisesDefaults()
    {
        var e = validator.Validate(Valid with { Id = null, RecordedAt = null, SourceIp = "", UserAgent = " " }, 0, "default").Event!;
        Assert.False(string.IsNullOrEmpty(e.Id));
        Assert.Equal(Now, e.RecordedAt);
        Assert.Null(e.SourceIp);
        Assert.Null(e.UserAgent);
    }

    [Fact]
    public void OldEventsAreAccepted()
    {
        Assert.NotNull(validator.Validate(Valid with { RecordedAt = Now.AddYears(-3) }, 0, "default").Event);
    }

    [Theory]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("2001:0db8:0000::0001", "2001:db8::1")]
    [InlineData("10.0.0.1", "10.0.0.1")]
    public void AcceptsIpv4AndIpv6(string ip, string normalized)
    {
        Assert.Equal(normalized, validator.Validate(Valid with { SourceIp = ip }, 0, "default").Event!.SourceIp);
    }

    [Theory]
    [InlineData("1", 0)]
    [InlineData("{}", 1)]
    [InlineData("[[1],[[2]]]", 3)]
    [InlineData("{\"a\":{\"b\":[]},\"c\":[]}", 3)]
    public void JsonDepthCountsNestedObjectsAndArrays(string json, int depth) => Assert.Equal(depth, IngestLimits.JsonDepth(json, 100));

    [Fact]
    public void JsonDepthStopsPastItsLimitWithoutReadingTheRest() => Assert.Equal(11, IngestLimits.JsonDepth(new string('[', 100_000), 10));

    [Fact]
    public void JsonDocumentsAreMeasuredAsDeepAsTheyNestInTheStoredEvent()
    {
        var body = validator.Validate(Valid with { RequestBody = EventRoundTrip.Nested(IngestLimits.MaxRequestBodyDepth) }, 0, "default").Event!;
        var details = validator.Validate(Valid with { Resources = [new AuditResource { Id = "r", Details = EventRoundTrip.Nested(IngestLimits.MaxResourceDetailsDepth) }] }, 0, "default").Event!;
        Assert.Equal(IngestLimits.MaxEventJsonDepth, IngestLimits.JsonDepth(AuditEventJson.Serialize(body), 1000));
        Assert.Equal(IngestLimits.MaxEventJsonDepth, IngestLimits.JsonDepth(AuditEventJson.Serialize(details), 1000));
        Assert.Equal(body.RequestBody, AuditEventJson.Parse(AuditEventJson.Serialize(body)).RequestBody);

        var deepBody = validator.Validate(Valid with { RequestBody = EventRoundTrip.Nested(IngestLimits.MaxRequestBodyDepth + 1) }, 0, "default").Error!;
        Assert.Equal("request_body", deepBody.Field);
        Assert.Contains("more than 63 levels deep", deepBody.Message, StringComparison.Ordinal);
        var deepDetails = validator.Validate(Valid with { Resources = [new AuditResource { Id = "r", Details = EventRoundTrip.Nested(IngestLimits.MaxResourceDetailsDepth + 1) }] }, 0, "default").Error!;
        Assert.Equal("resources[0]", deepDetails.Field);
        Assert.Contains("more than 62 levels deep", deepDetails.Message, StringComparison.Ordinal);
    }
}
