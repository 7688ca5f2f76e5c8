using AuditOrleans.Grains.Ingestion;
using System.Globalization;
using System.Text;

namespace AuditOrleans.Grains.Tests;

/// <summary>An event the generator made, with what the silo must do with it.</summary>
/// <param name="Event">What is sent (null: a null entry in the batch).</param>
/// <param name="Tag">For a valid event, how to find it in the log: its id, or its request_id when it has no id.</param>
/// <param name="TagIsId">True when <paramref name="Tag"/> is the event id.</param>
/// <param name="ProjectId">The project it must be stored in (valid events).</param>
/// <param name="Region">The region it must be routed to (valid events).</param>
/// <param name="BadField">For an invalid event, the field the error must name; null for a valid one.</param>
/// <param name="Mutation">What was done to make it invalid, for failure messages.</param>
internal sealed record FuzzCase(AuditEvent? Event, string? Tag, bool TagIsId, string? ProjectId, string? Region, string? BadField, string? Mutation)
{
    public bool IsValid => BadField is null;
}

/// <summary>
/// A seeded generator of hostile-but-valid and certainly-invalid audit events. Valid events
/// push every field to its limits (exact maximum lengths, any printable Unicode, zones, global
/// products, old and almost-future timestamps, odd but valid JSON); invalid ones are a valid
/// event with exactly one field broken, so the field the silo must name is known.
/// </summary>
internal sealed class FuzzEvents(Random rng, DateTimeOffset now, string project, string orgProject)
{
    private static readonly string[] Letters =
    [
        "a", "Z", "0", "-", "_", ".", ":", "/", "@", " ", "é", "ß", "Ж", "λ", "日", "本", "한", "ع", "ש", "ई", "ก",
        "\u0301", "😀", "👩‍💻", "𝔘", "\u00a0", "\u3000", "\"", "\\", "'", "<", ">", "&", "%", "{", "}", "[", "]", "?", "*", "=", "+",
    ];

    /// <summary>Invisible formatting characters: fine in free text, refused in ids.</summary>
    private static readonly string[] FormatChars = ["\u202e", "\u200b", "\u200d", "\ufeff", "\u2066", "\u00ad"];

    private static readonly string[] ControlChars = ["\u0000", "\u0001", "\u0007", "\u001b", "\u007f", "\u0085", "\u009b", "\u2028", "\u2029", "\r", "\n", "\t"];

    private static readonly string[] BadIps =
    [
        "300.1.2.3", "1", "1.2", "1.2.3", "1.2.3.4.5", "::::", "abc", "2001:db8::g", "256.256.256.256", "1..2.3", "0x7f.0.0.1",
        "-1.2.3.4", "1.2.3.4/24", "１.２.３.４", "fe80:::1", "2001:db8:::1", "1.2.3.4:80", "localhost",
    ];

    private static readonly string[] UnknownLocalities =
    [
        "us-east-1", "mars", "fr-pa", "fr-parx", "xx-yyy", "fr_par", "région", "fr-par-", "fr-par-x", "eu-west-3", "nl-ams-1a", "FR PAR", "par",
    ];

    private static readonly string[] Regions = ["fr-par", "nl-ams", "pl-waw"];

    private int counter;

    public int Generated => counter;

    /// <summary>A valid event with fields pushed to their limits.</summary>
    public FuzzCase Valid()
    {
        var n = Interlocked.Increment(ref counter);
        var withId = rng.NextDouble() < 0.9;
        var tag = $"fz{n}-" + Token(8);
        var id = withId ? Pad(tag, rng.NextDouble() < 0.1 ? IngestLimits.MaxIdLength : rng.Next(tag.Length, 60)) : null;

        // Project: explicit, organization-level (project_id absent) or neither (the batch's default).
        string? projectId = null, organizationId = null;
        string expectedProject;
        switch (rng.Next(4))
        {
            case 0:
                organizationId = orgProject;
                expectedProject = orgProject;
                break;
            case 1:
                expectedProject = project;
                if (rng.NextDouble() < 0.5)
                {
                    projectId = " ";
                }

                break;
            default:
                projectId = rng.NextDouble() < 0.5 ? project : orgProject;
                expectedProject = projectId;
                organizationId = rng.NextDouble() < 0.3 ? IdText(rng.Next(1, IngestLimits.MaxNameLength + 1)) : null;
                break;
        }

        var (locality, product, region) = Routing();
        return new FuzzCase(
            new AuditEvent
            {
                Id = id,
                RecordedAt = ValidTime(),
                Locality = locality,
                OrganizationId = organizationId,
                ProjectId = projectId,
                PrincipalId = Maybe(() => IdText(rng.Next(1, IngestLimits.MaxNameLength + 1))),
                SourceIp = rng.Next(4) switch { 0 => null, 1 => "", 2 => Ipv4(), _ => Ipv6() },
                UserAgent = Maybe(() => FreeText(rng.NextDouble() < 0.1 ? IngestLimits.MaxUserAgentLength : rng.Next(1, 300))),
                ProductName = product,
                ServiceName = Maybe(() => IdText(rng.NextDouble() < 0.1 ? IngestLimits.MaxNameLength : rng.Next(1, 80))),
                MethodName = rng.NextDouble() < 0.1 ? (rng.NextDouble() < 0.5 ? "CreateAPIKey" : "DeleteAPIKey") : Maybe(() => IdText(rng.Next(1, 40))),
                RequestId = withId ? Maybe(() => IdText(rng.Next(1, 64))) : tag,
                StatusCode = rng.NextDouble() < 0.05 ? (rng.NextDouble() < 0.5 ? 100 : 599) : rng.Next(100, 600),
                RequestBody = rng.NextDouble() < 0.5 ? null : rng.NextDouble() < 0.02 ? BigJson(IngestLimits.MaxRequestBodyBytes - 16) : rng.NextDouble() < 0.03 ? DeepJson(IngestLimits.MaxRequestBodyDepth) : Json(0),
                Resources = ValidResources(),
            },
            withId ? id : tag,
            withId,
            expectedProject,
            region,
            null,
            null);
    }

    /// <summary>A valid event with exactly one field broken.</summary>
    public FuzzCase Invalid()
    {
        var valid = Valid();
        var e = valid.Event!;
        switch (rng.Next(17))
        {
            case 0:
                return Bad(e with { Id = rng.NextDouble() < 0.3 ? new string('x', rng.Next(IngestLimits.MaxIdLength + 1, 200_000)) : Inject(IdText(rng.Next(1, 40)), BadIdChar()) }, "id", "id");
            case 1:
                return Bad(e with { StatusCode = rng.Next(4) switch { 0 => null, 1 => int.MinValue, 2 => int.MaxValue, _ => rng.NextDouble() < 0.5 ? rng.Next(-1000, 100) : rng.Next(600, 100_000) } }, "status_code", "status_code");
            case 2:
                var time = rng.Next(6) switch
                {
                    0 => DateTimeOffset.MaxValue,
                    1 => DateTimeOffset.MinValue,
                    2 => default(DateTimeOffset),
                    3 => now + EventValidator.MaxFutureSkew + TimeSpan.FromTicks(rng.NextInt64(1, TimeSpan.TicksPerDay * 365 * 100)),
                    4 => DateTimeOffset.UnixEpoch - TimeSpan.FromTicks(rng.NextInt64(1, TimeSpan.TicksPerDay * 365 * 100)),
                    _ => new DateTimeOffset(1, 1, 1, 14, 0, 0, TimeSpan.FromHours(14)),
                };
                return Bad(e with { RecordedAt = time }, "recorded_at", $"recorded_at {time:O}");
            case 3:
                var locality = rng.Next(3) switch
                {
                    0 => UnknownLocalities[rng.Next(UnknownLocalities.Length)],
                    1 => "fr-par" + new string('x', rng.Next(IngestLimits.MaxLocalityLength, 5000)),
                    _ => Inject(Regions[rng.Next(Regions.Length)], BadIdChar()),
                };
                return Bad(e with { Locality = locality, ProductName = "instance" }, "locality", "locality");
            case 4:
                return Bad(e with { ProjectId = BadProjectId() }, "project_id", "project_id");
            case 5:
                return Bad(e with { ProjectId = null, OrganizationId = BadProjectId() }, "organization_id", "organization_id as project");
            case 6:
            case 7:
                var field = new[] { "principal_id", "request_id", "service_name", "method_name", "product_name" }[rng.Next(5)];
                var text = rng.NextDouble() < 0.4 ? IdText(rng.Next(IngestLimits.MaxNameLength + 1, 3000)) : Inject(IdText(rng.Next(1, 40)), BadIdChar());
                var broken = field switch
                {
                    "principal_id" => e with { PrincipalId = text },
                    "request_id" => e with { RequestId = text },
                    "service_name" => e with { ServiceName = text },
                    "method_name" => e with { MethodName = text },
                    _ => e with { ProductName = text },
                };
                return Bad(broken, field, field);
            case 8:
                return Bad(e with { SourceIp = rng.NextDouble() < 0.2 ? Ipv4() + new string('9', 100) : BadIps[rng.Next(BadIps.Length)] }, "source_ip", "source_ip");
            case 9:
                var agent = rng.NextDouble() < 0.4
                    ? FreeText(rng.Next(IngestLimits.MaxUserAgentLength + 1, 100_000))
                    : Inject(FreeText(rng.Next(1, 200)), ControlChars[rng.Next(ControlChars.Length)]);
                return Bad(e with { UserAgent = agent }, "user_agent", "user_agent");
            case 10:
            case 11:
                return Bad(e with { RequestBody = BadJson(IngestLimits.MaxRequestBodyBytes, details: false) }, "request_body", "request_body");
            case 12:
                var many = Enumerable.Range(0, rng.Next(IngestLimits.MaxResources + 1, 300)).Select(i => new AuditResource { Id = $"r{i}", Type = "t" }).ToList();
                return Bad(e with { Resources = many }, "resources", "too many resources");
            case 13:
            case 14:
                return BadResource(e);
            case 15:
                // Every field within its limit, the whole event over 256 KiB.
                var heavy = Enumerable.Range(0, 20).Select(i => new AuditResource { Id = $"r{i}", Type = "t", Details = BigJson(IngestLimits.MaxResourceDetailsBytes - 64) }).ToList();
                return Bad(e with { Resources = heavy }, "resources", "event over 256 KiB");
            default:
                return new FuzzCase(null, null, false, null, null, "event", "null event");
        }
    }

    /// <summary>A valid event of a given project with a unique id, nothing unusual.</summary>
    public static AuditEvent Plain(string projectId, DateTimeOffset at, string region = "fr-par") => new()
    {
        Id = $"plain-{Guid.NewGuid():N}",
        RecordedAt = at,
        Locality = region,
        ProjectId = projectId,
        ProductName = "instance",
        MethodName = "ListServers",
        StatusCode = 200,
    };

    private FuzzCase BadResource(AuditEvent e)
    {
        var resources = ValidResources() ?? [];
        if (resources.Count == 0)
        {
            resources = [new AuditResource { Id = "r0", Type = "instance_server" }];
        }

        var i = rng.Next(resources.Count);
        switch (rng.Next(6))
        {
            case 0:
                resources[i] = null!;
                return Bad(e with { Resources = resources }, $"resources[{i}]", "null resource");
            case 1:
                resources[i] = resources[i] with { Id = rng.NextDouble() < 0.5 ? IdText(IngestLimits.MaxNameLength + 1) : Inject("SCW" + Token(17), BadIdChar()) };
                return Bad(e with { Resources = resources }, $"resources[{i}].id", "resource id");
            case 2:
                resources[i] = resources[i] with { Type = rng.NextDouble() < 0.5 ? IdText(IngestLimits.MaxNameLength + 1 + rng.Next(5000)) : Inject("iam_api_key", BadIdChar()) };
                return Bad(e with { Resources = resources }, $"resources[{i}].type", "resource type");
            case 3:
                resources[i] = resources[i] with { Name = rng.NextDouble() < 0.5 ? FreeText(IngestLimits.MaxNameLength + 1 + rng.Next(5000)) : Inject(FreeText(10), ControlChars[rng.Next(ControlChars.Length)]) };
                return Bad(e with { Resources = resources }, $"resources[{i}].name", "resource name");
            default:
                resources[i] = resources[i] with { Details = BadJson(IngestLimits.MaxResourceDetailsBytes, details: true) };
                return Bad(e with { Resources = resources }, $"resources[{i}]", "resource details");
        }
    }

    private static FuzzCase Bad(AuditEvent e, string field, string mutation) => new(e, null, false, null, null, field, mutation);

    private (string? Locality, string? Product, string Region) Routing()
    {
        var product = rng.Next(10) switch
        {
            0 => "iam",
            1 => "Account",
            2 => "edge-services",
            3 => null,
            4 => IdText(rng.Next(1, 30)),
            _ => "instance",
        };
        var global = product is not null && product.Trim().ToLowerInvariant() is "iam" or "account" or "edge-services";
        var region = Regions[rng.Next(Regions.Length)];
        var (locality, routed) = rng.Next(8) switch
        {
            0 => ("global", "fr-par"),
            1 => (rng.NextDouble() < 0.5 ? null : rng.NextDouble() < 0.5 ? "" : "  ", "fr-par"),
            2 => ($"{region}-{rng.Next(1, 4)}", region),
            3 => (region.ToUpperInvariant(), region),
            4 => ($" {region} ", region),
            _ => (region, region),
        };

        // A global product's event goes to fr-par whatever its locality, even an unknown one.
        if (global && rng.NextDouble() < 0.3)
        {
            locality = UnknownLocalities[rng.Next(UnknownLocalities.Length)];
        }

        return (locality, product, global ? "fr-par" : routed);
    }

    private DateTimeOffset? ValidTime() => rng.Next(8) switch
    {
        0 => null,
        1 => DateTimeOffset.UnixEpoch,
        2 => now + EventValidator.MaxFutureSkew,
        3 => DateTimeOffset.UnixEpoch + TimeSpan.FromTicks(rng.NextInt64(0, (now - DateTimeOffset.UnixEpoch).Ticks)),
        4 => (now - TimeSpan.FromTicks(rng.NextInt64(0, TimeSpan.TicksPerDay))).ToOffset(TimeSpan.FromMinutes(rng.Next(-14 * 60, 14 * 60 + 1))),
        _ => now - TimeSpan.FromTicks(rng.NextInt64(0, TimeSpan.TicksPerHour)),
    };

    private List<AuditResource>? ValidResources()
    {
        var count = rng.Next(10) switch
        {
            0 => -1,
            1 => 0,
            2 => rng.NextDouble() < 0.1 ? IngestLimits.MaxResources : rng.Next(5, 20),
            _ => rng.Next(1, 4),
        };
        if (count < 0)
        {
            return null;
        }

        return [.. Enumerable.Range(0, count).Select(i => new AuditResource
        {
            Id = rng.NextDouble() < 0.1 ? null : rng.NextDouble() < 0.05 ? IdText(IngestLimits.MaxNameLength) : "SCW" + Token(17),
            Type = rng.NextDouble() < 0.1 ? null : IdText(rng.Next(1, 30)),
            Name = rng.NextDouble() < 0.3 ? null : FreeText(rng.NextDouble() < 0.05 ? IngestLimits.MaxNameLength : rng.Next(1, 50)),
            Details = rng.NextDouble() < 0.5 ? null : rng.NextDouble() < 0.02 ? DeepJson(IngestLimits.MaxResourceDetailsDepth) : JsonObject(1, exclude: true),
        })];
    }

    private string BadProjectId() => rng.Next(7) switch
    {
        0 => "has space",
        1 => "a/b",
        2 => new string('p', Scope.MaxProjectIdLength + 1 + rng.Next(100_000)),
        3 => "projé",
        4 => Inject("p" + Token(6), BadIdChar()),
        5 => "p." + Token(4),
        _ => "日本",
    };

    private string BadIdChar() => rng.NextDouble() < 0.7 ? ControlChars[rng.Next(ControlChars.Length)] : FormatChars[rng.Next(FormatChars.Length)];

    /// <summary>Inserts <paramref name="bad"/> inside <paramref name="text"/>, never between the halves of a surrogate pair.</summary>
    private string Inject(string text, string bad)
    {
        var at = rng.Next(text.Length + 1);
        if (at > 0 && at < text.Length && char.IsLowSurrogate(text[at]))
        {
            at--;
        }

        return text.Insert(at, bad);
    }

    private string? Maybe(Func<string> make) => rng.Next(5) switch
    {
        0 => null,
        1 => "",
        _ => make(),
    };

    private string Token(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        return string.Create(length, rng, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[r.Next(alphabet.Length)];
            }
        });
    }

    /// <summary>Printable text of exactly <paramref name="length"/> UTF-16 units, any script, no formatting characters.</summary>
    private string IdText(int length) => Text(length, allowFormat: false);

    /// <summary>Free text of exactly <paramref name="length"/> UTF-16 units: any script, emoji sequences with joiners, combining marks.</summary>
    private string FreeText(int length) => Text(length, allowFormat: true);

    private string Text(int length, bool allowFormat)
    {
        var sb = new StringBuilder(length + 4);
        while (sb.Length < length)
        {
            var piece = allowFormat && rng.NextDouble() < 0.05 ? FormatChars[rng.Next(FormatChars.Length)] : Letters[rng.Next(Letters.Length)];
            if (!allowFormat && piece.Any(static c => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format))
            {
                continue;
            }

            if (sb.Length + piece.Length <= length)
            {
                sb.Append(piece);
            }
            else
            {
                sb.Append('x');
            }
        }

        // Never only whitespace (that counts as absent), never starting with a combining mark.
        if (string.IsNullOrWhiteSpace(sb.ToString()) || sb[0] == '\u0301')
        {
            sb[0] = 'k';
        }

        return sb.ToString();
    }

    private string Pad(string text, int length) => text.Length >= length ? text : text + Text(length - text.Length, allowFormat: false);

    private string Ipv4() => string.Join('.', Enumerable.Range(0, 4).Select(_ => rng.Next(256).ToString(CultureInfo.InvariantCulture)));

    private string Ipv6() => rng.Next(4) switch
    {
        0 => "::1",
        1 => $"2001:db8::{rng.Next(0x10000):x}",
        2 => "::ffff:" + Ipv4(),
        _ => string.Join(':', Enumerable.Range(0, 8).Select(_ => rng.Next(0x10000).ToString("X", CultureInfo.InvariantCulture))),
    };

    /// <summary>A random valid JSON value: objects, arrays, escapes (\u0000 included), any Unicode, numbers.</summary>
    private string Json(int depth) => (depth > 6 ? rng.Next(4) : rng.Next(7)) switch
    {
        0 => JsonString(),
        1 => rng.Next(-1_000_000, 1_000_000).ToString(CultureInfo.InvariantCulture),
        2 => new[] { "true", "false", "null", "1e300", "-0.0", "123456789012345678901234567890" }[rng.Next(6)],
        3 => JsonString(),
        4 or 5 => JsonObject(depth + 1, exclude: false),
        _ => "[" + string.Join(",", Enumerable.Range(0, rng.Next(0, 4)).Select(_ => Json(depth + 1))) + "]",
    };

    private string JsonObject(int depth, bool exclude)
    {
        var names = Enumerable.Range(0, rng.Next(0, 5)).Select(_ => JsonString()).Where(n => !exclude || n is not ("\"id\"" or "\"type\"" or "\"name\"")).Distinct();
        return "{" + string.Join(",", names.Select(name => $"{name}:{Json(depth)}")) + "}";
    }

    private string JsonString()
    {
        var sb = new StringBuilder("\"");
        for (var i = rng.Next(0, 12); i > 0; i--)
        {
            sb.Append(rng.Next(6) switch
            {
                0 => "\\u0000",
                1 => "\\n\\t\\\"\\\\\\/",
                2 => "\\ud83d\\ude00",
                3 => "\\u202e",
                _ => Letters[rng.Next(Letters.Length)] switch { "\"" => "\\\"", "\\" => "\\\\", var s => s },
            });
        }

        return sb.Append('"').ToString();
    }

    private string BigJson(int maxBytes)
    {
        // ASCII only: characters are bytes.
        var sb = new StringBuilder("{\"blob\":\"");
        var target = maxBytes - 16;
        while (sb.Length < target)
        {
            sb.Append(Token(Math.Min(512, target - sb.Length)));
        }

        return sb.Append("\"}").ToString();
    }

    /// <summary>
    /// A JSON object nesting exactly <paramref name="depth"/> deep: random objects and arrays
    /// along one path, random values beside it.
    /// </summary>
    private string DeepJson(int depth)
    {
        var sb = new StringBuilder();
        var closers = new Stack<char>();
        for (var level = 1; level <= depth; level++)
        {
            var isObject = level == 1 || rng.Next(2) == 0;
            sb.Append(isObject ? '{' : '[');
            closers.Push(isObject ? '}' : ']');
            if (rng.Next(3) == 0)
            {
                sb.Append(isObject ? "\"s\":" + JsonString() + "," : JsonString() + ",");
            }

            if (level < depth)
            {
                sb.Append(isObject ? "\"d\":" : "");
            }
            else
            {
                sb.Append(isObject ? "\"leaf\":" + JsonString() : JsonString());
            }
        }

        while (closers.Count > 0)
        {
            sb.Append(closers.Pop());
        }

        return sb.ToString();
    }

    /// <summary>Something that must be refused as a JSON document field (or as resource details).</summary>
    private string BadJson(int maxBytes, bool details)
    {
        var valid = details ? JsonObject(1, exclude: true) : JsonObject(1, exclude: false);
        var choices = new List<string>
        {
            DeepJson((details ? IngestLimits.MaxResourceDetailsDepth : IngestLimits.MaxRequestBodyDepth) + 1 + rng.Next(3)),
            "{not json",
            "",
            "   ",
            "{\"a\":1,}",
            "{'a':1}",
            "{\"a\":NaN}",
            "{\"a\":1} // comment",
            "{\"a\":\"\\ud800\"}",
            "{\"\\udc00x\":1}",
            "{\"a\":\"\\x41\"}",
            "{\"a\":\"raw\u0001control\"}",
            new string('[', 100) + new string(']', 100),
            "{\"blob\":\"" + new string('z', maxBytes) + "\"}",
            valid.Length > 1 ? valid[..rng.Next(1, valid.Length)] : "{",
            valid + "}",
        };
        if (details)
        {
            choices.AddRange(["[1,2]", "42", "\"text\"", "null", "{\"id\":\"shadow\"}", "{\"x\":1,\"name\":\"shadow\"}"]);
        }

        return choices[rng.Next(choices.Count)];
    }
}
