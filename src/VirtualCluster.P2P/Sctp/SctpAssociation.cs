using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Sctp;

/// <summary>
/// An SCTP association (RFC 9260) over a connected packet transport, as WebRTC data channels use it (RFC 8261):
/// one association per DTLS connection, data channels as stream pairs opened with DCEP (RFC 8832), partial
/// reliability (RFC 3758) and stream reset (RFC 6525).
/// </summary>
/// <remarks>
/// Both sides call <see cref="ConnectAsync"/> (both may send INIT at once; the collision is resolved as RFC 9260
/// §5.2.1 says). INITs are answered statelessly with an HMAC-signed cookie, so a flood of INITs costs no memory.
/// All protocol state sits behind one lock; user callbacks (messages, channel events) are raised outside it, in
/// order, from the thread that produced them (usually the transport's receive thread), so a handler may call
/// <see cref="DataChannel.Send(ReadOnlySpan{byte})"/> but should not block for long.
/// </remarks>
public sealed partial class SctpAssociation : IAsyncDisposable
{
    private readonly IPacketTransport _transport;
    private readonly SctpOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly P2PMetrics _metrics;
    private readonly object _gate = new();
    private readonly byte[] _cookieKey = RandomNumberGenerator.GetBytes(32);
    private byte[] _packet;
    private int _mtu;
    private readonly TaskCompletionSource _established = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closedTask = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer _t1, _t3, _sackTimer, _heartbeatTimer, _t2, _reconfigTimer;
    private List<PendingEvent> _events = new(), _dispatching = new();
    private bool _dispatchBusy;
    private AssocState _state;
    private uint _localTag, _peerTag;
    private long _rtoTicks;
    private string? _closeReason;
    private long _retransmittedChunks, _fastRetransmits, _timeouts;

    private enum AssocState { Closed, CookieWait, CookieEchoed, Established, ShutdownPending, ShutdownSent, ShutdownReceived, ShutdownAckSent, Ended }

    /// <summary>Creates the association and starts listening on <paramref name="transport"/> (a peer's INIT is answered at once).</summary>
    /// <param name="transport">The connected transport (DTLS in WebRTC); not owned: disposing the association does not dispose it.</param>
    /// <param name="isDtlsClient">The DTLS role: the DTLS client picks even stream ids, the server odd ones (RFC 8832 §6).</param>
    public SctpAssociation(IPacketTransport transport, bool isDtlsClient, SctpOptions? options = null,
        TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, P2PMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _options = options ?? new SctpOptions();
        SctpOptionsValidator.ThrowIfInvalid(_options);
        if (transport.MaxPacketSize < 256)
            throw new ArgumentException($"transport.MaxPacketSize is {transport.MaxPacketSize}; SCTP needs at least 256 bytes per packet.", nameof(transport));
        _transport = transport;
        IsDtlsClient = isDtlsClient;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<SctpAssociation>();
        _metrics = metrics ?? P2PMetrics.Shared;
        _mtu = _baseMtu = Math.Min(transport.MaxPacketSize, 65535);
        _packet = new byte[Math.Max(_mtu, Math.Min(transport.MaxProbePacketSize, 65535))];
        _rtoTicks = Ticks(_options.InitialRto);
        _t1 = _time.CreateTimer(_ => OnTimer(OnT1), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _t3 = _time.CreateTimer(_ => OnTimer(OnT3), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _sackTimer = _time.CreateTimer(_ => OnTimer(OnSackTimer), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _heartbeatTimer = _time.CreateTimer(_ => OnTimer(OnHeartbeatTimer), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _t2 = _time.CreateTimer(_ => OnTimer(OnT2), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _reconfigTimer = _time.CreateTimer(_ => OnTimer(OnReconfigTimer), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _probeTimer = _time.CreateTimer(_ => OnTimer(OnProbeOrRaiseTimer), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        InitInbound();
        InitOutbound();
        RemoteMaxMessageSize = 65536;
        transport.Closed += OnTransportClosed;
        transport.Received = OnPacket;
    }

    /// <summary>The DTLS role this side has; decides the parity of the stream ids it picks.</summary>
    public bool IsDtlsClient { get; }

    /// <summary>The current state.</summary>
    public SctpAssociationState State
    {
        get
        {
            lock (_gate)
                return _state switch
                {
                    AssocState.Closed => SctpAssociationState.New,
                    AssocState.CookieWait or AssocState.CookieEchoed => SctpAssociationState.Connecting,
                    AssocState.Established => SctpAssociationState.Open,
                    AssocState.Ended => SctpAssociationState.Closed,
                    _ => SctpAssociationState.Closing,
                };
        }
    }

    /// <summary>Why the association ended: null while open or after an orderly shutdown.</summary>
    public string? CloseReason { get { lock (_gate) return _closeReason; } }

    /// <summary>
    /// Largest message the peer accepts (its SDP <c>a=max-message-size</c>; RFC 8841 says 65536 when absent, 0
    /// means no limit). <see cref="DataChannel.Send(ReadOnlySpan{byte})"/> refuses larger messages. Default 65536.
    /// </summary>
    public int RemoteMaxMessageSize { get; set; }

    /// <summary>Largest message this side accepts (<see cref="SctpOptions.MaxMessageSize"/>): what SDP should advertise.</summary>
    public int LocalMaxMessageSize => _options.MaxMessageSize;

    /// <summary>DATA chunks retransmitted so far (also counted on the vcluster.p2p.sctp.retransmissions meter).</summary>
    public long RetransmittedChunks { get { lock (_gate) return _retransmittedChunks; } }

    /// <summary>Times the sender entered fast recovery after three miss indications (RFC 9260 §7.2.4).</summary>
    public long FastRetransmits { get { lock (_gate) return _fastRetransmits; } }

    /// <summary>T3-rtx expiries (RFC 9260 §6.3.3): each one shrinks cwnd to one MTU.</summary>
    public long RetransmissionTimeouts { get { lock (_gate) return _timeouts; } }

    /// <summary>Raised once when the association is established.</summary>
    public event Action? Opened;

    /// <summary>Raised once when the association ends, with the reason (null after an orderly shutdown).</summary>
    public event Action<string?>? Closed;

    /// <summary>Raised when the peer opens a channel (DCEP DATA_CHANNEL_OPEN); the channel is already open.</summary>
    public event Action<DataChannel>? DataChannelOpened;

    /// <summary>
    /// Starts the association (sends INIT unless the peer's handshake already established it) and completes when
    /// it is established. Throws <see cref="SctpException"/> if the peer does not answer after
    /// <see cref="SctpOptions.MaxInitRetransmissions"/> or the association ends first.
    /// </summary>
    public Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_state == AssocState.Closed)
            {
                _localTag = RandomTag();
                SetInitialTsn(RandomTag());
                _state = AssocState.CookieWait;
                _initRetransmissions = 0;
                SendInit();
                _t1.Change(TimeSpan.FromTicks(ToTimeSpanTicks(_rtoTicks)), Timeout.InfiniteTimeSpan);
                Log.Connecting(_logger, IsDtlsClient);
            }
        }
        return _established.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Completes when the association has ended (for whatever reason).</summary>
    public Task Completion => _closedTask.Task;

    /// <summary>
    /// Graceful shutdown (RFC 9260 §9.2): data already queued is delivered first, then SHUTDOWN is exchanged.
    /// Completes when the association has ended; cancelling aborts it instead.
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_state == AssocState.Established) { _state = AssocState.ShutdownPending; TryShutdown(); }
            else if (_state is AssocState.Closed or AssocState.CookieWait or AssocState.CookieEchoed) Terminate(null, sendAbort: _state != AssocState.Closed, abortReason: "closed");
        }
        Dispatch();
        try { await _closedTask.Task.WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { Abort("close cancelled"); throw; }
    }

    /// <summary>Ends the association at once (ABORT with a user-initiated-abort cause carrying <paramref name="reason"/>).</summary>
    public void Abort(string reason)
    {
        lock (_gate) Terminate(reason, sendAbort: true, abortReason: reason);
        Dispatch();
    }

    /// <summary>Aborts the association if it is still running; the transport is left open.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate) Terminate("disposed", sendAbort: true, abortReason: "disposed");
        Dispatch();
        _t1.Dispose(); _t2.Dispose(); _t3.Dispose(); _sackTimer.Dispose(); _heartbeatTimer.Dispose(); _reconfigTimer.Dispose(); _probeTimer.Dispose();
        _transport.Closed -= OnTransportClosed;
        return ValueTask.CompletedTask;
    }

    private void OnTransportClosed(string? reason)
    {
        lock (_gate) Terminate(reason is null ? "transport closed" : $"transport closed: {reason}", sendAbort: false, abortReason: null);
        Dispatch();
    }

    private void OnTimer(Action action)
    {
        lock (_gate)
        {
            if (_state == AssocState.Ended) return;
            try { action(); }
            catch (Exception e) { Log.InternalError(_logger, e); Terminate($"internal error: {e.Message}", sendAbort: true, abortReason: "internal error"); }
        }
        Dispatch();
    }

    /// <summary>Ends the association: releases every buffer, closes channels, raises Closed. Call under the lock.</summary>
    private void Terminate(string? reason, bool sendAbort, string? abortReason)
    {
        if (_state == AssocState.Ended) return;
        if (sendAbort && _state != AssocState.Closed && _transport.IsOpen) SendAbort(abortReason);
        var wasOpen = _state >= AssocState.Established;
        _state = AssocState.Ended;
        _closeReason = reason;
        foreach (var t in new[] { _t1, _t2, _t3, _sackTimer, _heartbeatTimer, _reconfigTimer, _probeTimer }) t.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        ReleaseOutbound();
        ReleaseInbound();
        CloseAllChannels(reason ?? "association closed");
        if (reason is null) Log.ClosedCleanly(_logger); else Log.ClosedWithReason(_logger, reason);
        _metrics.SctpAssociation(reason is null ? "closed" : wasOpen ? "failed" : "setup-failed");
        _established.TrySetException(new SctpException(reason ?? "the association was closed before it was established"));
        _events.Add(new PendingEvent { Kind = EventKind.AssociationClosed, Reason = reason });
    }

    private static uint RandomTag()
    {
        Span<byte> b = stackalloc byte[4];
        uint v;
        do { RandomNumberGenerator.Fill(b); v = BinaryPrimitives.ReadUInt32BigEndian(b); } while (v == 0);
        return v;
    }

    // For tests: the verification tag peers must use, and what the association holds.
    internal uint LocalVerificationTag { get { lock (_gate) return _localTag; } }
    internal (int Outstanding, long Queued, long HeldForReassembly, int Streams, int Channels) Holdings
    {
        get { lock (_gate) return (_ringCount, _queuedBytes, _heldBytes, _inbound.Count, _channels.Count); }
    }

    private long Ticks(TimeSpan span) => (long)(span.Ticks * (_time.TimestampFrequency / (double)TimeSpan.TicksPerSecond));
    private long ToTimeSpanTicks(long timestampTicks) => (long)(timestampTicks * (TimeSpan.TicksPerSecond / (double)_time.TimestampFrequency));
    private TimeSpan Rto => TimeSpan.FromTicks(ToTimeSpanTicks(_rtoTicks));

    /// <summary>Raises queued events outside the lock, in order; only one thread raises at a time.</summary>
    private void Dispatch()
    {
        while (true)
        {
            List<PendingEvent> batch;
            lock (_gate)
            {
                if (_dispatchBusy || _events.Count == 0) return;
                _dispatchBusy = true;
                batch = _events;
                _events = _dispatching;
                _dispatching = batch;
            }
            try
            {
                foreach (var e in batch) Raise(e);
            }
            finally
            {
                batch.Clear();
                lock (_gate) _dispatchBusy = false;
            }
        }
    }

    private void Raise(in PendingEvent e)
    {
        try
        {
            switch (e.Kind)
            {
                case EventKind.Message:
                    var kept = false;
                    try { kept = e.Channel!.RaiseOwnedMessage(e.Data ?? [], e.Length, e.Binary); }
                    finally { if (!kept && e.Data is { Length: > 0 } d) System.Buffers.ArrayPool<byte>.Shared.Return(d); }
                    break;
                case EventKind.ChannelOpen: e.Channel!.RaiseOpened(); break;
                case EventKind.RemoteChannel: DataChannelOpened?.Invoke(e.Channel!); e.Channel!.RaiseOpened(); break;
                case EventKind.ChannelClosed: e.Channel!.RaiseClosed(e.Reason); break;
                case EventKind.BufferedAmountLow: e.Channel!.RaiseBufferedAmountLow(); break;
                case EventKind.AssociationOpen: Opened?.Invoke(); break;
                case EventKind.AssociationClosed:
                    try { Closed?.Invoke(e.Reason); } finally { _closedTask.TrySetResult(); }
                    break;
            }
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(_logger, e.Kind.ToString(), ex);
        }
    }
}
