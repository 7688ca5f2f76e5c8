using System.Text;
using System.Text.Json;
using AuditOrleans.Grains.AuditLog;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// The chain's hash and the canonical JSON it covers must give the same bytes in every version:
/// logs stored by older versions are verified with today's code.
/// </summary>
public sealed class HashChainTests
{
    [Theory]
    // Expected values computed apart from this code: SHA-256 (Python's hashlib) of the UTF-8 of
    // "project\nregion\nsequence\nprevious\npayload".
    [InlineData("p-1", "fr-par", 7L, null, "{\"id\":\"e\"}", "f6b264865f53b2e6537b9844782d2d6dc9fbddd31a26144375c79ac0fa64b4e4")]
    [InlineData("proj-é", "nl-ams", 1234567890123L, "abababababababababababababababababababababababababababababababab",
        "{\"principal_id\":\"Zoë ✓ 🚀\",\"user_agent\":\"é中\"}", "b1cc66653d093918ee687d9c13cac96053542ebb2f289ad4e425aaa4a3ae7d9e")]
    public void TheHashIsSha256OfTheJoinedTextInUtf8(string project, string region, long sequence, string? previous, string payload, string expected) =>
        Assert.Equal(expected, HashChain.Compute(project, region, sequence, previous ?? HashChain.Genesis, payload));

    [Fact]
    public void APayloadLongerThanTheStackBufferHashesTheSame()
    {
        // 21,086 bytes of UTF-8 with two- and four-byte characters: hashed from a pooled buffer.
        var payload = "{\"x\":\"" + string.Concat(Enumerable.Repeat("é🚀a", 3000)) + "\"}";

        Assert.Equal("c2518639067627b9cf5a607459a3e138cece2dc544af4b58864910ebddcd7bc2", HashChain.Compute("p-2", "pl-waw", 3, HashChain.Genesis, payload));
        Assert.Equal("f6b264865f53b2e6537b9844782d2d6dc9fbddd31a26144375c79ac0fa64b4e4", HashChain.Compute("p-1", "fr-par", 7, HashChain.Genesis, "{\"id\":\"e\"}"));
    }

    [Fact]
    public void SerializeGivesTheSameTextAsAFreshWriterBeforeAndAfterAnOversizedEvent()
    {
        var small = EventFactory("small", "ListServers");
        var huge = EventFactory("huge", new string('m', 300_000));

        foreach (var e in new[] { small, huge, small, huge with { Kind = EventKind.System }, small })
        {
            Assert.Equal(Fresh(e), AuditEventJson.Serialize(e));
        }
    }

    [Fact]
    public async Task SerializeOnManyThreadsAtOnceGivesEachEventItsOwnText()
    {
        var events = Enumerable.Range(0, 64).Select(i => EventFactory($"e{i}", $"Method{i}")).ToList();

        var texts = await Task.WhenAll(events.Select(e => Task.Run(() => AuditEventJson.Serialize(e))));

        Assert.Equal(events.Select(Fresh), texts);
    }

    private static AuditEvent EventFactory(string id, string method) => new()
    {
        Id = id,
        RecordedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero),
        Region = "fr-par",
        ProjectId = "p-1",
        PrincipalId = "alice",
        SourceIp = "198.51.100.7",
        MethodName = method,
        StatusCode = 200,
        Resources = [new AuditResource { Id = "r1", Type = "instance_server", Name = "web-ü" }],
    };

    /// <summary>What <see cref="AuditEventJson.Write"/> gives on a writer of its own.</summary>
    private static string Fresh(AuditEvent e)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            AuditEventJson.Write(w, e);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
