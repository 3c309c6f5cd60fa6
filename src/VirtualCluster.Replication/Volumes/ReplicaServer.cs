using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Replication.Sync;
using VirtualCluster.Replication.Wire;

namespace VirtualCluster.Replication.Volumes;

/// <summary>
/// Holds replicas of other nodes' volumes under <see cref="DataDirectory"/> (<c>&lt;volume id&gt;/</c>) and accepts
/// their syncs over TCP from senders the <see cref="IReplicaAuthenticator"/> admits. Fencing: each volume remembers
/// the highest epoch that synced into it (<c>&lt;volume id&gt;.epoch</c>, written before the first sync of a new
/// epoch commits), and a sender with an older epoch, a node declared down that came back, is refused, so it can
/// never roll the replica back to older data.
/// </summary>
public sealed partial class ReplicaServer : IAsyncDisposable
{
    private readonly IReplicaAuthenticator _authenticator;
    private readonly ReplicationOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, DirectorySyncReceiver> _receivers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Socket _listener;
    private readonly Task _accepting;
    private readonly ReplicaTls? _tls;

    /// <summary>Starts listening on <paramref name="listen"/> (port 0: any free port, see <see cref="EndPoint"/>).</summary>
    public ReplicaServer(IPEndPoint listen, string dataDirectory, IReplicaAuthenticator authenticator, ReplicationOptions? options = null, ILogger<ReplicaServer>? logger = null,
        ReplicaTls? tls = null)
    {
        _tls = tls;
        DataDirectory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(DataDirectory);
        _authenticator = authenticator;
        _options = options ?? new ReplicationOptions();
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(listen);
        _listener.Listen(64);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _accepting = AcceptAsync();
    }

    /// <summary>Where replicas live: one directory per volume id.</summary>
    public string DataDirectory { get; }

    /// <summary>The address senders connect to.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The directory that holds the replica of <paramref name="volumeId"/>.</summary>
    public string ReplicaPath(string volumeId) => Path.Combine(DataDirectory, volumeId);

    /// <summary>The highest epoch that synced into a volume's replica (0: none yet).</summary>
    public long Epoch(string volumeId)
    {
        var path = Path.Combine(DataDirectory, volumeId + ".epoch");
        return File.Exists(path) && long.TryParse(File.ReadAllText(path), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch) ? epoch : 0;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException) { continue; }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(Socket client)
    {
        using var _ = client;
        Stream network = new NetworkStream(client, ownsSocket: false);
        await using var __ = network;
        string? volumeId = null;
        string? certified = null;
        WireReader reader = new(network, "replica request");
        try
        {
            if (_tls is not null)
            {
                (network, certified) = await SecureAsync(client, network).ConfigureAwait(false);
                reader = new WireReader(network, "replica request");
            }
            if (reader.Varint("magic", uint.MaxValue) != ReplicaProtocol.Magic) throw reader.Corrupt("it is not a replica request");
            var step = (SyncStep)reader.Byte("step");
            if (step is not (SyncStep.Plan or SyncStep.Apply)) throw reader.Corrupt($"unknown step {(int)step}");
            volumeId = reader.String("volume id", 256);
            var epoch = reader.Long("epoch", long.MaxValue / 2);
            var token = reader.String("token", 16 * 1024);
            if (ReplicaProtocol.CheckVolumeId(volumeId) is { } invalid) throw new ReplicationException(invalid);
            var (sender, error) = await _authenticator.AuthenticateAsync(token, volumeId, _stop.Token).ConfigureAwait(false);
            if (sender is null) throw new ReplicationException(error ?? "the sender is not allowed to push replicas here");
            if (_tls is not null && certified != sender)
                throw new ReplicationException($"the sender's certificate names node {certified}, its token node {sender}: a token is only good with its own node's certificate");
            var receiver = _receivers.GetOrAdd(volumeId, id => new DirectorySyncReceiver(ReplicaPath(id), _options));
            var body = new ChunkedReadStream(reader);
            var response = new MemoryStream();
            lock (receiver)
            {
                CheckEpoch(volumeId, epoch, write: step == SyncStep.Apply);
                if (step == SyncStep.Plan) receiver.Plan(body, response);
                else receiver.Apply(body);
            }
            body.Drain();
            network.WriteByte(ReplicaProtocol.Ok);
            var output = new ChunkedWriteStream(network);
            output.Write(response.GetBuffer().AsSpan(0, (int)response.Length));
            output.Complete();
            Touched(volumeId);
            if (step == SyncStep.Apply) LogSynced(_logger, volumeId, sender, epoch);
        }
        catch (Exception e) when (e is ReplicationException or IOException or UnauthorizedAccessException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            LogRefused(_logger, volumeId ?? "?", e.Message);
            try
            {
                var writer = new WireWriter(network);
                writer.Byte(ReplicaProtocol.Refused);
                writer.String(e.Message.Length > 2000 ? e.Message[..2000] : e.Message);
                writer.FlushBuffer();
                client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception) { } // the sender is gone; nothing to tell
        }
    }

    /// <summary>
    /// With TLS on: a connection must open with a TLS handshake (plain text is refused: the token would have crossed in
    /// clear) and present a certificate naming a node; returns the TLS stream and that node.
    /// </summary>
    private async Task<(Stream Stream, string Node)> SecureAsync(Socket client, Stream network)
    {
        var first = new byte[1];
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            if (await client.ReceiveAsync(first, SocketFlags.Peek, timeout.Token).ConfigureAwait(false) != 1)
                throw new IOException("the sender closed the connection before saying anything");
        }
        if (first[0] != ReplicaTls.HandshakeByte)
            throw new ReplicationException("this holder takes replicas over TLS only (the sender's token would cross the network in clear); upgrade the sending agent");
        var own = _tls!.Certificate() ?? throw new IOException("this holder has no certificate yet; it gets one when it joins or renews");
        var ssl = new System.Net.Security.SslStream(network, leaveInnerStreamOpen: false, ReplicaTls.AcceptForLaterCheck);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await ssl.AuthenticateAsServerAsync(new System.Net.Security.SslServerAuthenticationOptions
            {
                ServerCertificate = own,
                ClientCertificateRequired = true,
                RemoteCertificateValidationCallback = ReplicaTls.AcceptForLaterCheck,
            }, timeout.Token).ConfigureAwait(false);
        }
        if (ssl.RemoteCertificate is not { } presented)
            throw new ReplicationException("the sender presented no certificate; agents present their node's certificate");
        using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        var (node, problem) = _tls.Identify(certificate);
        if (node is null) throw new ReplicationException($"the sender's certificate is refused: {problem ?? "it names no node"}");
        return (ssl, node);
    }

    /// <summary>Refuses an epoch older than the volume's; records a newer one before its first commit.</summary>
    private void CheckEpoch(string volumeId, long epoch, bool write)
    {
        var current = Epoch(volumeId);
        if (epoch < current)
            throw new ReplicationException($"epoch {epoch} of volume {volumeId} is older than {current}: a newer instance has synced since (this sender was replaced after its node was declared down), so its data is refused");
        if (!write || epoch == current) return;
        var path = Path.Combine(DataDirectory, volumeId + ".epoch");
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, epoch.ToString(CultureInfo.InvariantCulture));
        File.Move(temporary, path, overwrite: true);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }
}
