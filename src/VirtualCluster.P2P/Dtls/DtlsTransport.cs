using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Org.BouncyCastle.Tls;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Transport;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;

namespace VirtualCluster.P2P.Dtls;

/// <summary>
/// DTLS 1.2 (RFC 6347) on the ICE-selected path, as WebRTC data channels use it (RFC 8261, RFC 8827): BouncyCastle's
/// DTLS client or server protocol over the datagrams the ICE agent delivers (first byte 20-63, RFC 7983; also through
/// TURN relays), with mutual authentication by self-signed certificates whose SHA-256 fingerprints were signaled
/// (a mismatch refuses the connection), ECDHE-ECDSA with AES-GCM and the extended master secret. Handshake flights
/// are retransmitted by BouncyCastle (1 s doubling) until <see cref="DtlsTransportOptions.HandshakeTimeout"/>.
/// </summary>
/// <remarks>
/// One background thread per transport runs the handshake and then the receive loop; <see cref="Received"/> is
/// raised on it. <see cref="Send"/> may be called from any thread. Corrupt or forged records are dropped without
/// ending the session. <see cref="Closed"/> is raised once: null for a close_notify from the peer or a local close,
/// otherwise the reason (fatal alert, handshake failure, ICE failure).
/// </remarks>
public sealed partial class DtlsTransport : IPacketTransport
{
    private readonly DtlsCertificate _certificate;
    private readonly DtlsFingerprint _remoteFingerprint;
    private readonly DtlsTransportOptions _options;
    private readonly ILogger _logger;
    private readonly DatagramQueue _queue;
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private BcDtlsTransport? _dtls;
    private Thread? _thread;
    private volatile bool _open;
    private int _finished;
    private string? _abortReason;
    private bool _aborted;
    private byte[]? _remoteCertificate;

    /// <summary>Creates a transport that sends its datagrams with <paramref name="send"/>; feed it with <see cref="Deliver"/>.</summary>
    /// <param name="role">Client (<c>a=setup:active</c>) or server.</param>
    /// <param name="certificate">This peer's certificate (its fingerprint went into the local description).</param>
    /// <param name="remoteFingerprint">The fingerprint from the peer's <c>a=fingerprint</c>.</param>
    /// <param name="send">Sends one datagram to the peer (lost datagrams are normal).</param>
    /// <param name="options">MTU and timeouts; validated here.</param>
    /// <param name="loggerFactory">Logging; none when null.</param>
    public DtlsTransport(DtlsRole role, DtlsCertificate certificate, DtlsFingerprint remoteFingerprint, Action<ReadOnlySpan<byte>> send,
        DtlsTransportOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(remoteFingerprint);
        ArgumentNullException.ThrowIfNull(send);
        _options = options ?? new DtlsTransportOptions();
        DtlsTransportOptionsValidator.ThrowIfInvalid(_options);
        Role = role;
        _certificate = certificate;
        _remoteFingerprint = remoteFingerprint;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<DtlsTransport>();
        _queue = new DatagramQueue(send, _options.Mtu, _options.ReceiveQueueCapacity);
        _queue.ClosedByStack += OnStackClosed;
        // AES-GCM record overhead: 13-byte header, 8-byte explicit nonce, 16-byte tag
        MaxPacketSize = _options.Mtu - 37;
    }

    /// <summary>
    /// A transport on <paramref name="agent"/>'s selected pair: takes over the agent's <see cref="IceAgent.DataReceived"/>
    /// and closes with a reason when the agent fails (consent expired) or closes. Call <see cref="ConnectAsync"/> once
    /// the agent is connected.
    /// </summary>
    public static DtlsTransport OverIce(IceAgent agent, DtlsRole role, DtlsCertificate certificate, DtlsFingerprint remoteFingerprint,
        DtlsTransportOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var transport = new DtlsTransport(role, certificate, remoteFingerprint, data =>
        {
            try
            {
                agent.Send(data);
            }
            catch (InvalidOperationException)
            {
                // no selected pair (yet, or any more): the datagram is lost, as on a dead path; ICE failure closes us
            }
        }, options, loggerFactory);
        transport.SegmentSender = (datagrams, segmentSize) =>
        {
            try
            {
                agent.SendSegments(datagrams, segmentSize);
            }
            catch (InvalidOperationException)
            {
                // as for one datagram: no selected pair (yet, or any more)
            }
        };
        agent.DataReceived = transport.Deliver;
        agent.StateChanged += state =>
        {
            if (state == IceConnectionState.Failed) transport.Abort("ICE failed: the peer stopped answering consent checks (or every path failed)");
            else if (state == IceConnectionState.Closed) transport.Abort("the ICE agent was closed");
        };
        return transport;
    }

    /// <summary>Client or server.</summary>
    public DtlsRole Role { get; }

    /// <inheritdoc />
    public int MaxPacketSize { get; private set; }

    /// <inheritdoc />
    /// <remarks>Larger than <see cref="MaxPacketSize"/> only when <see cref="DtlsTransportOptions.MaxProbeMtu"/> allows
    /// it and our own record layer runs (AES-GCM suites): up to that size less the record overhead.</remarks>
    public int MaxProbePacketSize => _records is not null ? Math.Max(MaxPacketSize, _options.MaxProbeMtu - DtlsRecordProtection.Overhead) : MaxPacketSize;

    /// <inheritdoc />
    public bool IsOpen => _open;

    /// <inheritdoc />
    public PacketHandler? Received { get; set; }

    /// <inheritdoc />
    public event Action<string?>? Closed;

    /// <summary>The peer's certificate (DER) once the handshake has checked it.</summary>
    public byte[]? RemoteCertificate => Volatile.Read(ref _remoteCertificate);

    /// <summary>Datagrams dropped before the record layer: runts, oversize, not DTLS, or a full receive queue.</summary>
    public long DroppedDatagrams => _queue.Dropped;

    /// <summary>Hands a datagram from the peer to the record layer; anything whose first byte is not 20-63 is dropped.</summary>
    public void Deliver(ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty || datagram[0] is < 20 or > 63)
        {
            _queue.Enqueue([]); // counted as dropped
            return;
        }
        if (_records is { } records) DeliverRecords(records, datagram);
        else _queue.Enqueue(datagram);
    }

    /// <summary>
    /// Runs the handshake (once; later calls wait for the same one). Completes when the peer is authenticated.
    /// </summary>
    /// <exception cref="DtlsHandshakeException">Timeout, fingerprint mismatch, an alert from the peer, or closed meanwhile.</exception>
    public Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_thread is null && !_aborted)
            {
                _thread = new Thread(Run) { IsBackground = true, Name = $"dtls-{Role.ToString().ToLowerInvariant()}" };
                _thread.Start();
            }
            else if (_thread is null) _connected.TrySetException(new DtlsHandshakeException(_abortReason ?? "the transport was closed"));
        }
        return _connected.Task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public void Send(ReadOnlySpan<byte> packet)
    {
        var dtls = _dtls;
        if (!_open || dtls is null)
            throw new InvalidOperationException(_finished == 1 ? "the DTLS transport is closed" : "the DTLS handshake has not finished");
        if (packet.Length > MaxProbePacketSize)
            throw new ArgumentException($"packet is {packet.Length} bytes; at most {MaxProbePacketSize} fit in one DTLS record on this path", nameof(packet));
        if (_records is { } records)
        {
            SendRecord(records, packet);
            return;
        }
        try
        {
            dtls.Send(packet);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or TlsException)
        {
            Finish($"sending failed: {e.Message}");
            throw new InvalidOperationException($"the DTLS transport is closed: {e.Message}", e);
        }
    }

    /// <summary>Closes with a reason (or null for an orderly close, which sends close_notify).</summary>
    public void Abort(string? reason)
    {
        BcDtlsTransport? dtls;
        bool started;
        lock (_gate)
        {
            if (_aborted) return;
            _aborted = true;
            _abortReason = reason;
            dtls = _dtls;
            started = _thread is not null;
        }
        if (_records is { } records && reason is null)
        {
            SendCloseNotify(records);
        }
        else if (dtls is not null && reason is null)
        {
            try
            {
                dtls.Close(); // close_notify to the peer, then closes the queue
            }
            catch (Exception e) when (e is IOException or TlsException)
            {
                // the path is gone; nothing to tell the peer
            }
        }
        _queue.Close();
        if (!started) Finish(reason);
    }

    /// <summary>Sends close_notify and stops the receive thread.</summary>
    public ValueTask DisposeAsync()
    {
        Abort(null);
        var thread = _thread;
        if (thread is not null && thread != Thread.CurrentThread) thread.Join(TimeSpan.FromSeconds(2));
        return ValueTask.CompletedTask;
    }

    private void Run()
    {
        BcDtlsTransport dtls;
        DtlsCrypto crypto;
        var started = Stopwatch.GetTimestamp();
        Log.HandshakeStarted(_logger, Role);
        try
        {
            crypto = DtlsCrypto.Create();
            var timeout = (int)_options.HandshakeTimeout.TotalMilliseconds;
            Action<byte[]> accepted = der => Volatile.Write(ref _remoteCertificate, der);
            dtls = Role == DtlsRole.Client
                ? new DtlsClientProtocol().Connect(new WebRtcDtlsClient(crypto, _certificate, _remoteFingerprint, timeout, accepted), _queue)
                // ICE has already proved the peer's address, so no HelloVerifyRequest round trip (RFC 8261 §5 allows this)
                : new DtlsServerProtocol { VerifyRequests = false }.Accept(new WebRtcDtlsServer(crypto, _certificate, _remoteFingerprint, timeout, accepted), _queue);
        }
        catch (Exception e)
        {
            var reason = _aborted ? _abortReason ?? "the transport was closed during the handshake" : Describe(e);
            Log.HandshakeFailed(_logger, Role, reason);
            _connected.TrySetException(new DtlsHandshakeException($"DTLS handshake failed: {reason}", e));
            Finish(reason);
            return;
        }
        lock (_gate) _dtls = dtls;
        MaxPacketSize = dtls.GetSendLimit();
        TakeOverRecords(crypto.Handover);
        _open = true;
        Log.Connected(_logger, Role, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        _connected.TrySetResult();
        if (_aborted)
        {
            Abort(null);
            Finish(_abortReason);
            return;
        }
        ReceiveLoop(dtls);
    }

    private void ReceiveLoop(BcDtlsTransport dtls)
    {
        var buffer = new byte[DatagramQueue.ReceiveLimit];
        while (true)
        {
            int length;
            try
            {
                length = dtls.Receive(buffer, 0, buffer.Length, 1000);
            }
            catch (Exception e)
            {
                // a fatal alert BouncyCastle raised itself also closes the queue: that is a failure, not an orderly close
                Finish(_aborted ? _abortReason : e is TlsFatalAlert or TlsFatalAlertReceived || !_queue.IsClosed || _peerFailed ? Describe(e) : null);
                return;
            }
            if (length < 0)
            {
                if (_queue.IsClosed)
                {
                    Finish(_aborted ? _abortReason : null); // close_notify from the peer
                    return;
                }
                continue;
            }
            try
            {
                Received?.Invoke(buffer.AsSpan(0, length));
            }
            catch (Exception e)
            {
                // a layer above must not kill the receive thread; it sees its own error
                Log.Closed(_logger, Role, $"receive handler threw {e.GetType().Name}: {e.Message} (packet dropped)");
            }
        }
    }

    private bool _peerFailed;

    private void OnStackClosed() => _open = false;

    private string Describe(Exception e)
    {
        switch (e)
        {
            case TlsFatalAlertReceived received:
                _peerFailed = true;
                return $"the peer sent the fatal alert {AlertDescription.GetText(received.AlertDescription)}";
            case TlsTimeoutException:
                return $"no answer from the peer within {_options.HandshakeTimeout.TotalSeconds:0.#} s";
            case TlsFatalAlert alert when alert.AlertDescription == AlertDescription.bad_certificate:
                return "the peer's certificate does not match the fingerprint in its session description (a=fingerprint)";
            case TlsFatalAlert alert when alert.AlertDescription == AlertDescription.handshake_failure && RemoteCertificate is null:
                return $"handshake failure: {alert.Message} (the peer sent no certificate, or no cipher suite in common: WebRTC needs ECDHE-ECDSA with AES-GCM)";
            case TlsFatalAlert alert:
                return $"fatal alert {AlertDescription.GetText(alert.AlertDescription)}: {alert.Message}";
            default:
                return $"{e.GetType().Name}: {e.Message}";
        }
    }

    private void Finish(string? reason)
    {
        if (Interlocked.Exchange(ref _finished, 1) == 1) return;
        _open = false;
        _queue.Close();
        _records?.Dispose();
        _connected.TrySetException(new DtlsHandshakeException($"DTLS handshake failed: {reason ?? "the transport was closed"}"));
        Log.Closed(_logger, Role, reason ?? "orderly close");
        Closed?.Invoke(reason);
    }
}
