using System.Net;
using System.Net.Sockets;
using VirtualCluster.Replication.Sync;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Volumes;

/// <summary>
/// Carries a volume's syncs to a <see cref="ReplicaServer"/> over TCP, one connection per exchange, presenting the
/// sender's machine token and the epoch of the instance that owns the volume (receivers refuse older epochs).
/// Plain TCP for a LAN; the token is sent in clear, so use it on links that are private or already encrypted.
/// </summary>
public sealed class TcpSyncTransport(EndPoint holder, string volumeId, long epoch, Func<string> token) : ISyncTransport
{
    /// <summary>How long to wait for a connection. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    public async Task<Stream> SendAsync(SyncStep step, Func<Stream, CancellationToken, Task> writeRequest, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(holder.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                connect.CancelAfter(ConnectTimeout);
                await socket.ConnectAsync(holder, connect.Token).ConfigureAwait(false);
            }
            var network = new NetworkStream(socket, ownsSocket: true);
            var buffered = new BufferedStream(network, 64 * 1024);
            var header = new WireWriter(buffered);
            header.Varint(ReplicaProtocol.Magic);
            header.Byte((byte)step);
            header.String(volumeId);
            header.Varint(epoch);
            header.String(token());
            header.FlushBuffer();
            await header.DisposeAsync().ConfigureAwait(false);
            var body = new ChunkedWriteStream(buffered);
            Exception? writeError = null;
            try
            {
                await writeRequest(body, cancellationToken).ConfigureAwait(false);
                body.Complete();
            }
            catch (IOException e) { writeError = e; } // the holder may have refused and closed: its answer says why
            var reader = new WireReader(network, "replica answer");
            byte status;
            try { status = reader.Byte("status"); }
            catch (ReplicationException) when (writeError is not null) { throw new ReplicationException($"the replica holder {holder} closed the connection: {writeError.Message}", writeError); }
            if (status != ReplicaProtocol.Ok)
                throw new ReplicationException($"the replica holder {holder} refused the sync of volume {volumeId}: {reader.String("error", 4096)}");
            var response = new MemoryStream();
            new ChunkedReadStream(reader).CopyTo(response);
            await network.DisposeAsync().ConfigureAwait(false);
            response.Position = 0;
            return response;
        }
        catch (SocketException e)
        {
            throw new ReplicationException($"the replica holder {holder} cannot be reached ({e.SocketErrorCode}); the sync is retried", e);
        }
        finally
        {
            socket.Dispose();
        }
    }
}
