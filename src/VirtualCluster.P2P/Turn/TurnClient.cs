using System.Buffers;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.P2P.Stun;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Turn;

/// <summary>Receives data relayed from a peer: the span is valid only during the call.</summary>
public delegate void TurnDataHandler(ReadOnlySpan<byte> data, IPEndPoint peer);

/// <summary>
/// A TURN client over UDP (RFC 8656) sharing a <see cref="PacketMux"/> with STUN and ICE: Allocate with the long-term
/// credential round (401 with REALM and NONCE, §7.2 and RFC 8489 §9.2), Refresh (§8), CreatePermission (§10),
/// ChannelBind (§12) with ChannelData framing, Send and Data indications (§11). A 438 Stale Nonce is retried with the
/// new nonce; wrong credentials end in <see cref="TurnException"/> with code 401. The allocation, permissions in use
/// and channels in use are refreshed before they expire (permissions last 300 s, channels 600 s).
/// </summary>
public sealed partial class TurnClient : ITurnServerSink, IAsyncDisposable
{
    private static readonly TimeSpan PermissionLifetime = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ChannelLifetime = TimeSpan.FromMinutes(10);

    private readonly PacketMux _mux;
    private readonly string _username;
    private readonly string _password;
    private readonly TurnClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Dictionary<IPAddress, Permission> _permissions = [];
    private readonly Dictionary<IPEndPoint, Channel> _channelsByPeer = [];
    private readonly Dictionary<ushort, Channel> _channelsByNumber = [];
    private string? _realm;
    private string? _nonce;
    private byte[]? _key;
    private DateTimeOffset _expires;
    private ushort _nextChannel = ChannelData.MinChannel;
    private ITimer? _maintenance;
    private int _staleNonceRetries;
    private long _dataIndications;
    private long _channelData;
    private bool _disposed;

    /// <summary>A client for the TURN server at <paramref name="server"/>, sending from <paramref name="mux"/>'s socket.</summary>
    public TurnClient(PacketMux mux, IPEndPoint server, string username, string password, TurnClientOptions? options = null,
        TimeProvider? timeProvider = null, ILogger<TurnClient>? logger = null)
    {
        _options = options ?? new TurnClientOptions();
        TurnClientOptionsValidator.ThrowIfInvalid(_options);
        _mux = mux;
        Server = server;
        _username = username;
        _password = password;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        mux.RegisterTurnServer(server, this);
    }

    /// <summary>The TURN server.</summary>
    public IPEndPoint Server { get; }

    /// <summary>The relayed transport address once allocated (XOR-RELAYED-ADDRESS).</summary>
    public IPEndPoint? RelayedEndPoint { get; private set; }

    /// <summary>This client's address as the server sees it (XOR-MAPPED-ADDRESS of the Allocate response).</summary>
    public IPEndPoint? MappedEndPoint { get; private set; }

    /// <summary>How many requests were retried after 438 Stale Nonce.</summary>
    public int StaleNonceRetries => Volatile.Read(ref _staleNonceRetries);

    /// <summary>Data indications received (RFC 8656 §11.4).</summary>
    public long DataIndicationsReceived => Interlocked.Read(ref _dataIndications);

    /// <summary>ChannelData messages received (RFC 8656 §12.6).</summary>
    public long ChannelDataReceived => Interlocked.Read(ref _channelData);

    /// <summary>Data relayed from peers, from Data indications and ChannelData alike.</summary>
    public TurnDataHandler? DataReceived { get; set; }

    /// <summary>Creates the allocation (RFC 8656 §7.1): REQUESTED-TRANSPORT UDP, LIFETIME, authenticated after the 401 round.</summary>
    /// <remarks>
    /// A 437 Allocation Mismatch means the server still holds an allocation for this 5-tuple, typically left by an
    /// earlier process that used the same local port behind the same NAT mapping; RFC 8656 §7.3 advises another
    /// 5-tuple, which <see cref="Ice.IceAgent"/> does by allocating from a fresh socket.
    /// </remarks>
    public async Task<(IPEndPoint Relayed, IPEndPoint Mapped, TimeSpan Lifetime)> AllocateAsync(CancellationToken cancellationToken = default)
    {
        var response = await RequestAsync(StunMethod.Allocate, b =>
        {
            b.AddUInt32(StunAttributeType.RequestedTransport, 17u << 24);
            b.AddUInt32(StunAttributeType.Lifetime, (uint)_options.Lifetime.TotalSeconds);
        }, cancellationToken).ConfigureAwait(false);
        if (!response.TryGetXorAddress(StunAttributeType.XorRelayedAddress, out var relayed))
            throw new TurnException(0, "Allocate success response without XOR-RELAYED-ADDRESS");
        response.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var mapped);
        var lifetime = TimeSpan.FromSeconds(response.GetUInt32(StunAttributeType.Lifetime) ?? 600);
        lock (_gate)
        {
            RelayedEndPoint = relayed;
            MappedEndPoint = mapped ?? relayed;
            _expires = _time.GetUtcNow() + lifetime;
            _maintenance ??= _time.CreateTimer(_ => Maintain(), null, _options.MaintenanceInterval, _options.MaintenanceInterval);
        }
        Log.Allocated(_logger, Server, relayed, (int)lifetime.TotalSeconds);
        return (relayed, MappedEndPoint!, lifetime);
    }

    /// <summary>Refreshes the allocation (RFC 8656 §8); a zero lifetime deletes it. Returns the lifetime granted.</summary>
    public async Task<TimeSpan> RefreshAsync(TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        var response = await RequestAsync(StunMethod.Refresh, b => b.AddUInt32(StunAttributeType.Lifetime, (uint)lifetime.TotalSeconds), cancellationToken).ConfigureAwait(false);
        var granted = TimeSpan.FromSeconds(response.GetUInt32(StunAttributeType.Lifetime) ?? (uint)lifetime.TotalSeconds);
        lock (_gate) _expires = _time.GetUtcNow() + granted;
        return granted;
    }

    /// <summary>Installs or refreshes a permission for <paramref name="peer"/> (RFC 8656 §10); only the IP counts.</summary>
    public async Task CreatePermissionAsync(IPAddress peer, CancellationToken cancellationToken = default)
    {
        await RequestAsync(StunMethod.CreatePermission, b => b.AddXorAddress(StunAttributeType.XorPeerAddress, new IPEndPoint(peer, 0)), cancellationToken).ConfigureAwait(false);
        List<(byte[] Data, IPEndPoint Peer)>? queued;
        lock (_gate)
        {
            var permission = PermissionFor(peer);
            permission.Installed = _time.GetUtcNow();
            permission.Pending = false;
            queued = permission.Queue;
            permission.Queue = null;
        }
        if (queued is null) return;
        foreach (var (data, to) in queued) Send(data, to);
    }

    /// <summary>Binds a channel to <paramref name="peer"/> (RFC 8656 §12.1), or refreshes the existing one. Returns its number.</summary>
    public async Task<ushort> BindChannelAsync(IPEndPoint peer, CancellationToken cancellationToken = default)
    {
        ushort number;
        bool fresh;
        lock (_gate)
        {
            fresh = !_channelsByPeer.TryGetValue(peer, out var channel);
            if (fresh)
            {
                if (_nextChannel > ChannelData.MaxChannel) throw new TurnException(0, "no channel numbers left");
                // Known for receiving before the request leaves: the server relays the peer's next datagram as
                // ChannelData right after its success response, and this socket's receive thread can reach that
                // datagram before the await below resumes; unknown, it was dropped (a lost DTLS flight: 1 s).
                // Sending uses the channel only once Bound is set.
                channel = new Channel(_nextChannel++, peer) { LastUsed = _time.GetUtcNow() };
                _channelsByPeer[peer] = channel;
                _channelsByNumber[channel.Number] = channel;
            }
            number = channel!.Number;
        }
        try
        {
            await RequestAsync(StunMethod.ChannelBind, b =>
            {
                b.AddUInt32(StunAttributeType.ChannelNumber, (uint)number << 16);
                b.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch when (fresh)
        {
            lock (_gate)
            {
                if (_channelsByPeer.TryGetValue(peer, out var pending) && pending.Bound is null)
                {
                    _channelsByPeer.Remove(peer);
                    _channelsByNumber.Remove(number);
                }
            }
            throw;
        }
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (!_channelsByPeer.TryGetValue(peer, out var channel))
            {
                channel = new Channel(number, peer) { LastUsed = now };
                _channelsByPeer[peer] = channel;
                _channelsByNumber[number] = channel;
            }
            channel.Bound = now;
            PermissionFor(peer.Address).Installed = now; // a channel binding installs the permission too (§12.2)
        }
        return number;
    }

    /// <summary>
    /// Sends <paramref name="data"/> to <paramref name="peer"/> through the relay: as ChannelData when a channel is bound,
    /// as a Send indication when a permission exists, otherwise queued while a permission is created.
    /// </summary>
    public void Send(ReadOnlySpan<byte> data, IPEndPoint peer)
    {
        byte[] frame;
        var frameLength = -1;
        var createPermission = false;
        lock (_gate)
        {
            if (_disposed) return;
            var now = _time.GetUtcNow();
            var permission = PermissionFor(peer.Address);
            permission.LastUsed = now;
            if (_channelsByPeer.TryGetValue(peer, out var channel) && channel.Bound is not null)
            {
                channel.LastUsed = now;
                // the hot path of a relayed data channel: a pooled frame, returned once sent
                frame = ArrayPool<byte>.Shared.Rent(ChannelData.FramedLength(data.Length));
                frameLength = ChannelData.Write(channel.Number, data, frame);
            }
            else if (permission.Installed is { } installed && now - installed < PermissionLifetime)
            {
                frame = new StunMessageBuilder(StunMethod.Send, StunClass.Indication, StunTransactionId.New())
                    .AddXorAddress(StunAttributeType.XorPeerAddress, peer)
                    .Add(StunAttributeType.Data, data)
                    .Build();
            }
            else
            {
                permission.Queue ??= [];
                if (permission.Queue.Count < _options.MaxQueuedPerPeer) permission.Queue.Add((data.ToArray(), peer));
                createPermission = !permission.Pending;
                permission.Pending = true;
                frame = [];
            }
        }
        if (createPermission) _ = InstallPermissionAsync(peer.Address);
        if (frameLength >= 0)
        {
            try { _mux.Send(frame.AsSpan(0, frameLength), Server); }
            finally { ArrayPool<byte>.Shared.Return(frame); }
        }
        else if (frame.Length > 0) _mux.Send(frame, Server);
    }

    /// <summary>Deletes the allocation (Refresh with LIFETIME 0) and stops routing this server's datagrams.</summary>
    public async ValueTask DisposeAsync()
    {
        bool allocated;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _maintenance?.Dispose();
            allocated = RelayedEndPoint is not null;
        }
        if (allocated)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await RefreshAsync(TimeSpan.Zero, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TurnException or OperationCanceledException)
            {
                // best effort: the allocation expires on its own
            }
        }
        _mux.UnregisterTurnServer(Server);
    }
}
