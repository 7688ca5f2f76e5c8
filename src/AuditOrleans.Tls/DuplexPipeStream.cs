using System.IO.Pipelines;

namespace AuditOrleans.Tls;

/// <summary>
/// A connection's raw pipes seen as one read/write <see cref="Stream"/>, so that an
/// <see cref="System.Net.Security.SslStream"/> can run over them. It owns neither pipe: the
/// connection completes them when it closes.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe pipe) : Stream
{
    private readonly Stream input = pipe.Input.AsStream(leaveOpen: true);
    private readonly Stream output = pipe.Output.AsStream(leaveOpen: true);
    private long bytesRead;

    /// <summary>Bytes received so far: zero means the peer never sent anything.</summary>
    public long BytesRead => Interlocked.Read(ref bytesRead);

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Count(input.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(input.Read(buffer));

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Count(await input.ReadAsync(buffer.AsMemory(offset, count), cancellationToken));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await input.ReadAsync(buffer, cancellationToken));

    public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => output.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        output.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        output.WriteAsync(buffer, cancellationToken);

    public override void Flush() => output.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private int Count(int read)
    {
        Interlocked.Add(ref bytesRead, read);
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            input.Dispose();
            output.Dispose();
        }

        base.Dispose(disposing);
    }
}
