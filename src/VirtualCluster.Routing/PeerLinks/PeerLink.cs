using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using VirtualCluster.P2P.PeerConnections;
using VirtualCluster.P2P.Sdp;
using VirtualCluster.P2P.Signaling;
using VirtualCluster.Routing.Signaling;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.PeerLinks;

/// <summary>
/// The gateway's link to one node: offers a peer connection, keeps it up (reconnecting with exponential backoff and
/// jitter), and while it is relayed tries a fresh one now and then, switching when that one comes up direct.
/// </summary>
internal sealed partial class PeerLink
{
    private static readonly TimeSpan RetireAfter = TimeSpan.FromSeconds(60);
    private readonly string node;
    private readonly ISignalingEndpoint endpoint;
    private readonly Func<PeerLinkOptions> options;
    private readonly Func<string, bool> present;
    private readonly ILoggerFactory loggers;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly ConcurrentDictionary<string, PeerConnection> sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<PeerConnection, int> active = new();
    private readonly object gate = new();
    private PeerConnection? current;
    private string state = "connecting";
    private DateTimeOffset since;
    private string? lastError;
    private long bytesSent, bytesReceived, dials;
    private bool abandon;
    private TaskCompletionSource nudged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource left = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PeerLink(string node, ISignalingEndpoint endpoint, Func<PeerLinkOptions> options, Func<string, bool> present, ILoggerFactory loggers, TimeProvider time)
    {
        this.node = node;
        this.endpoint = endpoint;
        this.options = options;
        this.present = present;
        this.loggers = loggers;
        logger = loggers.CreateLogger<PeerLink>();
        this.time = time;
        since = time.GetUtcNow();
    }

    public bool EverConnected { get; private set; }

    /// <summary>The node reconnected to the hub: try a fresh link now (the old one may be dead without knowing it yet).</summary>
    public void Nudge() => Volatile.Read(ref nudged).TrySetResult();

    /// <summary>
    /// The node left the hub: its signaling connection closed, as when the machine died. The link is closed at once so
    /// that requests on it fail now (as on a tunnel whose TCP connection broke) instead of waiting for consent checks.
    /// </summary>
    public void Left() => Volatile.Read(ref left).TrySetResult();

    /// <summary>
    /// True when the link is up and the node is on the hub. A node that left the hub (killed, or cut off) is not dialled
    /// over a link that may be dead without knowing it yet (UDP gives no sign; consent checks take seconds); its tunnel,
    /// if any, is used instead, and the node's return to the hub brings a fresh link.
    /// </summary>
    public bool IsConnected => Current() is not null && present(node);

    public PeerConnection? Connection => Current();

    public PeerLinkStatus Status()
    {
        lock (gate)
        {
            var connection = current;
            return new PeerLinkStatus(node, connection is null ? null : SdpSignaling.PathOf(connection), state,
                connection is null ? null : SdpSignaling.RttOf(connection)?.TotalMilliseconds,
                Interlocked.Read(ref bytesSent), Interlocked.Read(ref bytesReceived), since, lastError, Interlocked.Read(ref dials));
        }
    }

    /// <summary>Opens a proxied connection to <paramref name="port"/> on the node's loopback over the link.</summary>
    public async ValueTask<Stream> DialAsync(int port, CancellationToken ct)
    {
        var connection = Current() ?? throw new IOException($"the peer link to {node} is not connected");
        if (!present(node)) throw new IOException($"{node} left the signaling hub; its peer link is not trusted until it is back");
        var settings = options();
        var stream = await ChannelProtocol.OpenAsync(connection, port, settings.HighWaterMark, settings.OpenTimeout, ct).ConfigureAwait(false);
        Interlocked.Increment(ref dials);
        active.AddOrUpdate(connection, 1, (_, n) => n + 1);
        return new CountingStream(stream, n => Interlocked.Add(ref bytesSent, n), n => Interlocked.Add(ref bytesReceived, n),
            () => active.AddOrUpdate(connection, 0, (_, n) => Math.Max(0, n - 1)));
    }

    private PeerConnection? Current()
    {
        lock (gate) return current is { ConnectionState: PeerConnectionState.Connected } c ? c : null;
    }

    /// <summary>Keeps the link up until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var reader = ReadSignalingAsync(ct);
        var backoff = options().InitialBackoff;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (!present(node))
                {
                    // The node is not on the hub (P2P off there, or not started): nothing to offer to yet.
                    await Task.Delay(TimeSpan.FromMilliseconds(250), time, ct).ConfigureAwait(false);
                    continue;
                }
                SetState("connecting", null);
                PeerConnection? connection = null;
                try
                {
                    connection = await ConnectOnceAsync(ct).ConfigureAwait(false);
                    backoff = options().InitialBackoff;
                    connection = await HoldAsync(connection, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || e is TimeoutException || !ct.IsCancellationRequested)
                {
                    lock (gate) lastError = e.Message;
                }
                finally
                {
                    lock (gate) current = null;
                    if (connection is not null)
                    {
                        if (abandon) Abandon(connection);
                        else Retire(connection);
                    }
                    abandon = false;
                }
                if (ct.IsCancellationRequested) break;
                SetState("failed", null);
                LogFailed(logger, node, lastError ?? "closed", backoff.TotalMilliseconds);
                var jitter = backoff * (Random.Shared.NextDouble() * 0.25);
                await Task.Delay(backoff + jitter, time, ct).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(options().MaxBackoff.Ticks, backoff.Ticks * 2));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            lock (gate) current = null;
            foreach (var connection in sessions.Values) await connection.DisposeAsync().ConfigureAwait(false);
            await reader.ConfigureAwait(false);
        }
    }

    /// <summary>Waits while the link is up; while relayed, tries a direct one every UpgradeInterval. Returns the link's last connection when it fails.</summary>
    private async Task<PeerConnection> HoldAsync(PeerConnection connection, CancellationToken ct)
    {
        while (true)
        {
            var down = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnState(PeerConnectionState s)
            {
                if (s is PeerConnectionState.Failed or PeerConnectionState.Closed) down.TrySetResult();
            }
            connection.ConnectionStateChanged += OnState;
            if (connection.ConnectionState != PeerConnectionState.Connected) down.TrySetResult();
            var requireDirect = true;
            try
            {
                // Relayed on purpose (relay-only policy) is not worth upgrading.
                var relayed = SdpSignaling.PathOf(connection) == "relayed" && options().TransportPolicy != VirtualCluster.P2P.Ice.IceTransportPolicy.Relay;
                var nudge = Volatile.Read(ref nudged).Task;
                var gone = Volatile.Read(ref left).Task;
                var wait = Task.WhenAny(down.Task, nudge, gone);
                try
                {
                    var first = await (relayed ? wait.WaitAsync(options().UpgradeInterval, time, ct) : wait.WaitAsync(ct)).ConfigureAwait(false);
                    if (first == down.Task)
                    {
                        lock (gate) lastError = connection.FailureReason ?? "the node closed the link";
                        return connection;
                    }
                    if (first == gone)
                    {
                        Volatile.Write(ref left, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                        if (!present(node))
                        {
                            lock (gate) lastError = "the node left the signaling hub (stopped, or cut off)";
                            abandon = true;
                            return connection;
                        }
                        continue;
                    }
                    // The node reconnected to the hub: a fresh link replaces this one whatever its path.
                    Volatile.Write(ref nudged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                    requireDirect = false;
                }
                catch (TimeoutException)
                {
                    // Relayed for a while: try a fresh link; keep it only if it is direct.
                }
            }
            finally
            {
                connection.ConnectionStateChanged -= OnState;
            }
            PeerConnection? trial = null;
            try
            {
                trial = await ConnectOnceAsync(ct, install: false).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                LogUpgradeFailed(logger, node, e.Message);
            }
            if (trial is null) continue;
            if (requireDirect && SdpSignaling.PathOf(trial) != "direct")
            {
                Retire(trial);
                continue;
            }
            if (requireDirect) LogUpgraded(logger, node);
            Install(trial);
            Retire(connection);
            connection = trial;
        }
    }

    private async Task<PeerConnection> ConnectOnceAsync(CancellationToken ct, bool install = true)
    {
        var settings = options();
        var session = SdpSignaling.NewSession();
        var connection = new PeerConnection(settings.ForConnection(), time, loggers, settings.SocketFactory);
        var offered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.IceCandidate += candidate => _ = TrickleAsync(SdpSignaling.Trickle(candidate, session), offered.Task, ct);
        sessions[session] = connection;
        try
        {
            var offer = await connection.CreateOfferAsync(ct).ConfigureAwait(false);
            await SdpSignaling.SendAsync(endpoint, node, session, offer, ct).ConfigureAwait(false);
            offered.TrySetResult();
            await connection.ConnectAsync(ct).WaitAsync(settings.ConnectTimeout, time, ct).ConfigureAwait(false);
            if (install) Install(connection);
            return connection;
        }
        catch (TimeoutException)
        {
            offered.TrySetCanceled();
            sessions.TryRemove(session, out _);
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new TimeoutException($"no link within {settings.ConnectTimeout.TotalSeconds:0.#} s ({connection.FailureReason ?? StageOf(connection)})");
        }
        catch
        {
            offered.TrySetCanceled();
            sessions.TryRemove(session, out _);
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string StageOf(PeerConnection connection) =>
        connection.Ice?.SelectedPair is null ? "ICE found no path: is UDP blocked? the tunnel carries traffic meanwhile" : "DTLS/SCTP did not complete";

    private void Install(PeerConnection connection)
    {
        lock (gate)
        {
            current = connection;
            state = "connected";
            since = time.GetUtcNow();
            lastError = null;
            EverConnected = true;
        }
        LogConnected(logger, node, SdpSignaling.PathOf(connection) ?? "?", SdpSignaling.RttOf(connection)?.TotalMilliseconds ?? -1);
    }

    private void SetState(string value, string? error)
    {
        lock (gate)
        {
            if (state != value) since = time.GetUtcNow();
            state = value;
            if (error is not null) lastError = error;
        }
    }

}
