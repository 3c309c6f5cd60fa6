using System.Net;
using System.Net.Sockets;
using VirtualCluster.Replication.Sync;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Volumes;

/// <summary>
/// Carries a volume's syncs to a <see cref="ReplicaServer"/> over TCP, one connection per exchange, presenting the
/// sender's machine token and the epoch of the instance that owns the volume (receivers refuse older epochs).
/// With <see cref="Tls"/> the connection is TLS and the holder must prove it is node <see cref="HolderNodeId"/>;
/// without it the token is sent in clear, so plain TCP is only for links that are private or already encrypted.
/// </summary>
public sealed class TcpSyncTransport(EndPoint holder, string volumeId, long epoch, Func<string> token) : ISyncTransport
{
    /// <summary>How long to wait for a connection. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>TLS with both nodes' certificates; null: plain TCP.</summary>
    public ReplicaTls? Tls { get; init; }

    /// <summary>The node id the holder's certificate must name (with <see cref="Tls"/>).</summary>
    public string? HolderNodeId { get; init; }

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
            Stream network = new NetworkStream(socket, ownsSocket: true);
            if (Tls is not null) network = await SecureAsync(network, cancellationToken).ConfigureAwait(false);
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
            await buffered.DisposeAsync().ConfigureAwait(false);
            await network.DisposeAsync().ConfigureAwait(false);
            response.Position = 0;
            return response;
        }
        catch (System.Security.Authentication.AuthenticationException e)
        {
            throw new ReplicationException($"the replica holder {holder} failed the TLS check: {e.Message}", e);
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

    private async Task<Stream> SecureAsync(Stream network, CancellationToken cancellationToken)
    {
        var own = Tls!.Certificate() ?? throw new ReplicationException("this node has no certificate yet, so it cannot sync over TLS; it gets one when it joins or renews");
        string? problem = null;
        var ssl = new System.Net.Security.SslStream(network, leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            if (certificate is null) { problem = "it presented no certificate"; return false; }
            using var presented = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            var (node, refused) = Tls.Identify(presented);
            problem = refused ?? (node != HolderNodeId ? $"its certificate names node {node}, not {HolderNodeId}" : null);
            return problem is null;
        });
        try
        {
            await ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = ReplicaTls.TargetHost,
                ClientCertificates = [own],
            }, cancellationToken).ConfigureAwait(false);
            return ssl;
        }
        catch (System.Security.Authentication.AuthenticationException e)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new ReplicationException($"the replica holder {holder} failed the TLS check: {problem ?? e.Message}; nothing was sent", e);
        }
    }
}
