using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Session;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// The front door: a middleware on every connection the gateway accepts (after TLS, when it is
/// on) that reads the frame of each Orleans message a client sends before Orleans does, and
/// closes the connection on the first message that breaks a rule. See docs/security.md.
/// </summary>
/// <remarks>
/// <para>Orleans trusts its clients: its gateway forwards whatever sender id a client writes in a
/// message, and rewrites a message for a system target to its own silo. AuditOrleans hands its
/// gateway to keyed people and automation, so the silo itself pins what a client is:</para>
/// <list type="bullet">
/// <item>the identity the client announced in its connection preamble must be an ordinary
/// client id (never a silo's hosted client, <c>hosted-*</c>), and every message on the connection
/// must be sent by exactly that id: a client cannot pass its calls off as a grain's or a silo's;</item>
/// <item>a message may be a request or a one-way call, never a response (AuditOrleans calls no
/// client back), and may target only the application's grains (whose calls
/// <see cref="AccessControlFilter"/> checks against the API key) or the one Orleans system target
/// a client needs to connect (the cluster manifest); silo control, the directory, membership,
/// grain services and other clients are refused before anything runs;</item>
/// <item>a frame's header may not exceed <see cref="MaxHeaderBytes"/> and its body
/// <see cref="MaxBodyBytes"/>, checked on the length prefix before the silo reads the rest.</item>
/// </list>
/// <para>The frame layout read here is Orleans' own (two little-endian 32-bit lengths, then the
/// header: packed flags, correlation id, sending grain id, target grain id...), decoded with
/// Orleans' serialization primitives. Tests run real clients through this guard, so a change
/// of layout in an Orleans upgrade fails the suite instead of opening the door.</para>
/// </remarks>
public sealed partial class GatewayGuard(
    ILogger<GatewayGuard> logger,
    SerializerSessionPool sessions,
    IServiceProvider services,
    ClientSources sources,
    RefusalLog refusals,
    IEnumerable<GatewaySystemTargetAllowance> allowances)
{
    /// <summary>The largest header a client may send (its request context holds the API key; Orleans allows 10 MB).</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    /// <summary>
    /// The largest message body a client may send: the largest batch ingestion takes
    /// (<see cref="IngestLimits.MaxBatchBytes"/>) with room for its serialization, instead of
    /// Orleans' default of 100 MB.
    /// </summary>
    public const int MaxBodyBytes = IngestLimits.MaxBatchBytes + 4 * 1024 * 1024;

    private const int MaxPreambleBytes = 1024;
    private const uint DirectionMask = 0x000F_0000;
    private const int DirectionShift = 16;
    private const byte DirectionRequest = 1;
    private const byte DirectionOneWay = 3;

    private static readonly byte[] ManifestTarget = Encoding.UTF8.GetBytes(GrainTypePrefix.SystemTargetPrefix + "manifest");
    private static readonly byte[] SystemPrefix = Encoding.UTF8.GetBytes(GrainTypePrefix.SystemPrefix);
    private static readonly byte[] HostedClientKeyPrefix = Encoding.UTF8.GetBytes("hosted-");

    private readonly byte[][] allowedSystemTargets =
    [
        ManifestTarget,
        .. allowances.Select(a => Encoding.UTF8.GetBytes(GrainTypePrefix.SystemTargetPrefix + a.Name)),
    ];

    private readonly Lazy<Func<ReadOnlySequence<byte>, GrainId>> readPreamble = new(() => PreambleReader(services));

    public async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        var transport = context.Transport;
        var checkedInput = new Pipe(new PipeOptions(
            pauseWriterThreshold: 1024 * 1024,
            resumeWriterThreshold: 512 * 1024,
            useSynchronizationContext: false));
        context.Transport = new GuardedPipe(checkedInput.Reader, transport.Output);
        var remote = (context.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? context.RemoteEndPoint?.ToString() ?? "unknown";
        var state = new ConnectionState(remote);
        var pump = PumpAsync(transport.Input, checkedInput.Writer, context, state);
        try
        {
            await next(context);
        }
        finally
        {
            transport.Input.CancelPendingRead();
            await pump;
            context.Transport = transport;
            if (state.Client is { } client)
            {
                sources.Remove(client, state);
            }
        }
    }

    private async Task PumpAsync(PipeReader input, PipeWriter output, ConnectionContext context, ConnectionState state)
    {
        await Task.Yield();
        Exception? failure = null;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                var violation = Process(ref buffer, output, state);
                input.AdvanceTo(buffer.Start, buffer.End);
                if (violation is not null)
                {
                    refusals.Refused(logger, "gateway", $"connection from {state.Remote} ({state.ClientText}) closed: {violation}");
                    failure = new ConnectionAbortedException("Refused by the gateway guard: " + violation);
                    context.Abort(new ConnectionAbortedException(violation));
                    break;
                }

                var flush = await output.FlushAsync();
                if (flush.IsCompleted || result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception exception)
        {
            failure = exception;
        }
        finally
        {
            await output.CompleteAsync(failure);
        }
    }

    /// <summary>Forwards every complete part of <paramref name="buffer"/> that passes, leaving the rest; returns a violation or null.</summary>
    private string? Process(ref ReadOnlySequence<byte> buffer, PipeWriter output, ConnectionState state)
    {
        while (true)
        {
            if (state.BodyRemaining > 0)
            {
                var take = Math.Min(state.BodyRemaining, buffer.Length);
                Forward(buffer.Slice(0, take), output);
                buffer = buffer.Slice(take);
                state.BodyRemaining -= take;
                if (state.BodyRemaining > 0)
                {
                    return null;
                }

                continue;
            }

            if (buffer.Length < 4 || (state.Client is not null && buffer.Length < 8))
            {
                return null;
            }

            if (state.Client is null)
            {
                var length = ReadInt32(buffer, 0);
                if (length <= 0 || length > MaxPreambleBytes)
                {
                    return $"a connection preamble of {length} bytes";
                }

                if (buffer.Length < 4 + length)
                {
                    return null;
                }

                GrainId identity;
                try
                {
                    identity = readPreamble.Value(buffer.Slice(4, length));
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    return "an unreadable connection preamble";
                }

                if (!IsOrdinaryClient(identity))
                {
                    return $"a connection that announced itself as {identity}, which is not an external client id";
                }

                state.Client = identity;
                state.ClientText = identity.ToString();
                sources.Add(identity, state);
                Forward(buffer.Slice(0, 4 + length), output);
                buffer = buffer.Slice(4 + length);
                continue;
            }

            var headerLength = ReadInt32(buffer, 0);
            var bodyLength = ReadInt32(buffer, 4);
            if (headerLength <= 0 || headerLength > MaxHeaderBytes)
            {
                return $"a message header of {headerLength} bytes (at most {MaxHeaderBytes})";
            }

            if (bodyLength < 0 || bodyLength > MaxBodyBytes)
            {
                return $"a message body of {bodyLength} bytes (at most {MaxBodyBytes})";
            }

            if (buffer.Length < 8 + headerLength)
            {
                return null;
            }

            var violation = Inspect(buffer.Slice(8, headerLength), state);
            if (violation is not null)
            {
                return violation;
            }

            Forward(buffer.Slice(0, 8 + headerLength), output);
            buffer = buffer.Slice(8 + headerLength);
            state.BodyRemaining = bodyLength;
        }
    }

    private string? Inspect(ReadOnlySequence<byte> header, ConnectionState state)
    {
        uint flags;
        IdSpan senderType, senderKey, targetType;
        using (var session = sessions.GetSession())
        {
            var reader = Reader.Create(header, session);
            try
            {
                flags = reader.ReadUInt32();
                reader.ReadInt64();
                senderType = IdSpanCodec.ReadRaw(ref reader);
                senderKey = IdSpanCodec.ReadRaw(ref reader);
                targetType = IdSpanCodec.ReadRaw(ref reader);
                IdSpanCodec.ReadRaw(ref reader);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                return "an unreadable message header";
            }
        }

        var direction = (byte)((flags & DirectionMask) >> DirectionShift);
        if (direction is not (DirectionRequest or DirectionOneWay))
        {
            return "a message that is not a request (direction " + direction + ")";
        }

        var sender = new GrainId(new GrainType(senderType), senderKey);
        if (!sender.Equals(state.Client!.Value))
        {
            return $"a message sent as {sender}, not as the connection's client {state.ClientText}";
        }

        var target = targetType.AsSpan();
        if (target.StartsWith(SystemPrefix) && !IsAllowedSystemTarget(target))
        {
            return $"a call to Orleans' internal target {Encoding.UTF8.GetString(target)}";
        }

        return null;
    }

    private bool IsAllowedSystemTarget(ReadOnlySpan<byte> target)
    {
        foreach (var allowed in allowedSystemTargets)
        {
            if (target.SequenceEqual(allowed))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True for an external client's id: the client grain type, never a silo's hosted client.</summary>
    public static bool IsOrdinaryClient(GrainId id) =>
        id.Type.Equals(GrainTypePrefix.ClientGrainType) && !id.Key.AsSpan().StartsWith(HostedClientKeyPrefix);

    /// <summary>True for a silo's own hosted client (<c>hosted-{silo}</c>): calls the gateway never lets through.</summary>
    public static bool IsHostedClient(GrainId id) =>
        id.Type.Equals(GrainTypePrefix.ClientGrainType) && id.Key.AsSpan().StartsWith(HostedClientKeyPrefix);

    private static void Forward(ReadOnlySequence<byte> part, PipeWriter output)
    {
        foreach (var segment in part)
        {
            output.Write(segment.Span);
        }
    }

    private static int ReadInt32(ReadOnlySequence<byte> buffer, int offset)
    {
        Span<byte> bytes = stackalloc byte[4];
        buffer.Slice(offset, 4).CopyTo(bytes);
        return BinaryPrimitives.ReadInt32LittleEndian(bytes);
    }

    /// <summary>
    /// Reads the client id from Orleans' connection preamble (an internal type of Orleans.Core,
    /// serialized with its generated codec), resolved once by reflection. Fails closed: if the
    /// type cannot be found, every connection is refused and the tests say so.
    /// </summary>
    private static Func<ReadOnlySequence<byte>, GrainId> PreambleReader(IServiceProvider services)
    {
        var preambleType = typeof(IClusterClient).Assembly.GetType("Orleans.Runtime.Messaging.ConnectionPreamble", throwOnError: true)!;
        var serializerType = typeof(Serializer<>).MakeGenericType(preambleType);
        var serializer = services.GetService(serializerType) ?? throw new InvalidOperationException("No serializer for Orleans' connection preamble.");
        var deserialize = serializerType.GetMethod(nameof(Serializer<object>.Deserialize), [typeof(ReadOnlySequence<byte>)])
            ?? throw new InvalidOperationException("Orleans' serializer has no Deserialize(ReadOnlySequence<byte>).");
        var identity = preambleType.GetProperty("NodeIdentity", BindingFlags.Public | BindingFlags.Instance)
            ?? throw new InvalidOperationException("Orleans' connection preamble has no NodeIdentity.");
        return bytes =>
        {
            var preamble = deserialize.Invoke(serializer, [bytes]);
            return (GrainId)identity.GetValue(preamble)!;
        };
    }

    private sealed record GuardedPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    /// <summary>What the guard knows of one connection.</summary>
    internal sealed class ConnectionState(string remote) : ClientSources.ISource
    {
        public string Remote { get; } = remote;

        public GrainId? Client { get; set; }

        public string ClientText { get; set; } = "no client id yet";

        public long BodyRemaining { get; set; }
    }
}
