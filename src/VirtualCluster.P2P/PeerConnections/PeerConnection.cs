using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Dtls;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Sctp;
using VirtualCluster.P2P.Sdp;

namespace VirtualCluster.P2P.PeerConnections;

/// <summary>
/// A WebRTC peer connection for data channels, in .NET style: offer/answer in SDP (<see cref="CreateOfferAsync"/>,
/// <see cref="CreateAnswerAsync"/>, <see cref="SetRemoteDescription"/>), trickle ICE (<see cref="IceCandidate"/>,
/// <see cref="AddIceCandidate"/>), then ICE (the offerer controls) → DTLS (roles from a=setup, fingerprints checked)
/// → SCTP → DCEP channels (<see cref="CreateDataChannel"/>, <see cref="DataChannel"/>). Interoperates with browsers
/// and libdatachannel.
/// </summary>
/// <remarks>
/// Order of use, offerer: CreateOfferAsync → send the offer → SetRemoteDescription(answer) → CreateDataChannel.
/// Answerer: SetRemoteDescription(offer) → CreateAnswerAsync → send the answer. Both: forward every
/// <see cref="IceCandidate"/> after the description (null means end-of-candidates), and pass the peer's to
/// <see cref="AddIceCandidate"/>. Events are raised on background threads.
/// </remarks>
public sealed partial class PeerConnection : IAsyncDisposable
{
    private readonly PeerConnectionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly DtlsCertificate _certificate;
    private readonly ulong _sessionId = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) >> 2;
    private readonly object _gate = new();
    private readonly List<string?> _pendingCandidates = [];
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IceAgent? _agent;
    private DataChannelDescription? _local;
    private DataChannelDescription? _remote;
    private DtlsTransport? _dtls;
    private SctpAssociation? _sctp;
    private bool _inlineDone;
    private bool _gatheringDone;
    private ulong _version = 1;
    private readonly Func<System.Net.IPEndPoint, Transport.IDatagramSocket>? _socketFactory;

    /// <summary>Creates a connection; nothing happens on the network until an offer or answer is created.</summary>
    /// <param name="options">Settings of every layer; validated here.</param>
    /// <param name="timeProvider">The clock of all timers; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Logging; none when null.</param>
    /// <param name="socketFactory">Binds the ICE agent's sockets; real UDP when null (tests wrap them, e.g. to drop datagrams).</param>
    public PeerConnection(PeerConnectionOptions? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null,
        Func<System.Net.IPEndPoint, Transport.IDatagramSocket>? socketFactory = null)
    {
        _socketFactory = socketFactory;
        _options = options ?? new PeerConnectionOptions();
        PeerConnectionOptionsValidator.ThrowIfInvalid(_options);
        _time = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<PeerConnection>();
        _certificate = _options.Certificate ?? DtlsCertificate.Generate(timeProvider: _time);
    }

    /// <summary>The current state.</summary>
    public PeerConnectionState ConnectionState { get; private set; } = PeerConnectionState.New;

    /// <summary>Why the connection failed or closed (null while fine, or after an orderly close).</summary>
    public string? FailureReason { get; private set; }

    /// <summary>Raised on every state change.</summary>
    public event Action<PeerConnectionState>? ConnectionStateChanged;

    /// <summary>A local candidate line ("candidate:…") to send to the peer, or null for end-of-candidates.</summary>
    public event Action<string?>? IceCandidate;

    /// <summary>A channel the peer opened (already open).</summary>
    public event Action<DataChannel>? DataChannel;

    /// <summary>This side's description (with the candidates gathered so far inline), once created.</summary>
    public SessionDescription? LocalDescription
    {
        get
        {
            lock (_gate)
            {
                if (_local is null || _agent is null) return null;
                var current = _local with
                {
                    Candidates = _agent.LocalCandidates.Where(c => c.Type != IceCandidateType.PeerReflexive).ToList(),
                    EndOfCandidates = _gatheringDone,
                };
                return new SessionDescription(_agent.Role == IceRole.Controlling ? SdpType.Offer : SdpType.Answer, current.ToSdp(_sessionId, _version));
            }
        }
    }

    /// <summary>This peer's certificate fingerprint (what its descriptions carry).</summary>
    public DtlsFingerprint LocalFingerprint => _certificate.Fingerprint;

    /// <summary>The ICE agent once created (for its selected pair and counters).</summary>
    public IceAgent? Ice => _agent;

    /// <summary>The DTLS transport once both descriptions are known.</summary>
    public DtlsTransport? Dtls => _dtls;

    /// <summary>The SCTP association once both descriptions are known.</summary>
    public SctpAssociation? Sctp => _sctp;

    /// <summary>Creates the offer (ICE controlling, a=setup:actpass) and starts gathering.</summary>
    public async Task<SessionDescription> CreateOfferAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_agent is not null) throw new InvalidOperationException("this connection already has a local description (ICE restarts are not supported)");
            _agent = CreateAgent(IceRole.Controlling);
            _local = LocalFor(DtlsSetup.ActPass, "0");
        }
        await GatherInlineAsync(cancellationToken).ConfigureAwait(false);
        return LocalDescription!;
    }

    /// <summary>Creates the answer to the offer set by <see cref="SetRemoteDescription"/> (a=setup:active: this side is the DTLS client) and starts connecting.</summary>
    public async Task<SessionDescription> CreateAnswerAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_remote is null || _agent is null || _agent.Role != IceRole.Controlled)
                throw new InvalidOperationException("set the peer's offer with SetRemoteDescription before creating an answer");
            if (_local is not null) throw new InvalidOperationException("the answer was already created");
            _local = LocalFor(_remote.Setup == DtlsSetup.Active ? DtlsSetup.Passive : DtlsSetup.Active, _remote.Mid);
            StartLayersLocked();
        }
        await GatherInlineAsync(cancellationToken).ConfigureAwait(false);
        return LocalDescription!;
    }

    /// <summary>
    /// Applies the peer's offer or answer. Throws <see cref="ArgumentException"/> naming what is wrong when the SDP
    /// has no usable data-channel section, credentials or fingerprint, or when it is of the wrong type now.
    /// </summary>
    public void SetRemoteDescription(SessionDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        if (!DataChannelDescription.TryParse(description.Sdp, out var remote, out var error))
            throw new ArgumentException($"the remote {description.TypeName} cannot be used: {error}", nameof(description));
        List<string?> pending;
        lock (_gate)
        {
            if (_remote is not null) throw new InvalidOperationException("a remote description is already set (renegotiation is not supported)");
            if (description.Type == SdpType.Offer)
            {
                if (_agent is not null) throw new ArgumentException("got an offer but this side already made one: the peers must agree who offers", nameof(description));
                _agent = CreateAgent(IceRole.Controlled);
            }
            else if (_agent is null || _agent.Role != IceRole.Controlling)
                throw new ArgumentException("got an answer but this side made no offer: call CreateOfferAsync first", nameof(description));
            else if (remote!.Setup == DtlsSetup.ActPass)
                throw new ArgumentException("the answer says a=setup:actpass; an answer must say active or passive (RFC 8842 §5.3)", nameof(description));
            _remote = remote!;
            _agent.SetRemoteParameters(remote!.Ice);
            foreach (var candidate in remote.Candidates) _agent.AddRemoteCandidate(candidate);
            if (remote.EndOfCandidates) _agent.AddRemoteEndOfCandidates();
            pending = [.. _pendingCandidates];
            _pendingCandidates.Clear();
            if (description.Type == SdpType.Answer) StartLayersLocked();
        }
        foreach (var line in pending) AddIceCandidate(line);
        if (ConnectionState == PeerConnectionState.New) SetState(PeerConnectionState.Connecting, null);
    }

    /// <summary>
    /// Adds a candidate of the peer ("candidate:…" or "a=candidate:…"); null or empty means end-of-candidates.
    /// Candidates that arrive before the remote description are kept until it is set. Returns false (and skips the
    /// line) for what cannot be used: mDNS names, TCP, malformed text.
    /// </summary>
    public bool AddIceCandidate(string? candidate)
    {
        IceAgent? agent;
        lock (_gate)
        {
            if (_remote is null)
            {
                if (_pendingCandidates.Count < 256) _pendingCandidates.Add(candidate);
                return true;
            }
            agent = _agent!;
        }
        if (string.IsNullOrWhiteSpace(candidate))
        {
            agent.AddRemoteEndOfCandidates();
            return true;
        }
        if (!VirtualCluster.P2P.Ice.IceCandidate.TryParse(candidate, out var parsed) || parsed.Component != 1 || parsed.Transport != "udp")
        {
            Log.CandidateSkipped(_logger, candidate.Length > 200 ? candidate[..200] : candidate);
            return false;
        }
        agent.AddRemoteCandidate(parsed);
        return true;
    }

    /// <summary>
    /// Opens a channel (DCEP). Valid once both descriptions are set; the channel opens when the association is up
    /// (await <see cref="DataChannels.DataChannel.WaitForOpenAsync"/>).
    /// </summary>
    /// <param name="label">The channel's label.</param>
    /// <param name="init">Reliability, ordering, negotiated id; default reliable and ordered.</param>
    /// <param name="beforeOpen">Attaches handlers before the open goes out, so the peer's first message or close cannot be missed.</param>
    public DataChannel CreateDataChannel(string label, DataChannelInit? init = null, Action<DataChannel>? beforeOpen = null)
    {
        var sctp = _sctp ?? throw new InvalidOperationException("create data channels after both descriptions are set (offerer: after SetRemoteDescription(answer); answerer: after CreateAnswerAsync)");
        return sctp.CreateDataChannel(label, init, beforeOpen);
    }

    /// <summary>Waits until the connection is up (SCTP open). Throws <see cref="PeerConnectionFailedException"/> with the reason if it fails.</summary>
    public Task ConnectAsync(CancellationToken cancellationToken = default) => _connected.Task.WaitAsync(cancellationToken);

    /// <summary>Closes gracefully: SCTP SHUTDOWN (bounded), DTLS close_notify, ICE stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        SctpAssociation? sctp;
        DtlsTransport? dtls;
        IceAgent? agent;
        lock (_gate) (sctp, dtls, agent) = (_sctp, _dtls, _agent);
        if (sctp is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                if (sctp.State == SctpAssociationState.Open) await sctp.CloseAsync(cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
            {
                // the peer did not acknowledge in time: abort below
            }
            await sctp.DisposeAsync().ConfigureAwait(false);
        }
        if (dtls is not null) await dtls.DisposeAsync().ConfigureAwait(false);
        if (agent is not null) await agent.DisposeAsync().ConfigureAwait(false);
        SetState(PeerConnectionState.Closed, FailureReason);
    }

    private DataChannelDescription LocalFor(DtlsSetup setup, string mid) => new()
    {
        Ice = _agent!.LocalParameters,
        Fingerprints = [_certificate.Fingerprint],
        Setup = setup,
        Mid = mid,
        SctpPort = _options.Sctp.LocalPort,
        MaxMessageSize = _options.Sctp.MaxMessageSize,
    };
}

/// <summary>The connection failed; the message says which layer and why.</summary>
public sealed class PeerConnectionFailedException(string message) : Exception(message);
