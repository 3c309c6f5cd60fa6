using System.Net.Sockets;

namespace VirtualCluster.Cli.Http;

/// <summary>
/// Counts the bytes written to control-plane connections. A failed attempt that wrote nothing surely did not reach the
/// server, whatever the exception says. Exception types are a weaker guide: SocketsHttpHandler retries internally (a
/// request whose connection closed before any answer is sent again on a new connection, up to 3 times), and which
/// try's exception surfaces is its own business. The CLI sends one request at a time, so the count before and after
/// an attempt is that attempt's.
/// </summary>
internal sealed class SentBytes
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    /// <summary>A handler whose connections count what they write here.</summary>
    /// <param name="connectTimeout">Connect timeout.</param>
    /// <param name="validator">The pinned cluster CA for https; null: the system's trust store.</param>
    public SocketsHttpHandler CreateHandler(TimeSpan connectTimeout, VirtualCluster.Security.Tls.PinnedCaValidator? validator = null) => new()
    {
        ConnectTimeout = connectTimeout,
        SslOptions = { RemoteCertificateValidationCallback = validator is null ? null : validator.Validate },
        ConnectCallback = async (context, cancellationToken) =>
        {
            // As SocketsHttpHandler connects by default, plus the counting wrapper.
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new CountingStream(new NetworkStream(socket, ownsSocket: true), this);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    private void Add(int bytes) => Interlocked.Add(ref _count, bytes);

    private sealed class CountingStream(Stream inner, SentBytes sent) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count)
        {
            sent.Add(count);
            inner.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            sent.Add(buffer.Length);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            sent.Add(count);
            return inner.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}
