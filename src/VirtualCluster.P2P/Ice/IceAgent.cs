using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.P2P.Stun;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Ice;

/// <summary>
/// A full ICE agent (RFC 8445) for one data stream with one component, as WebRTC data channels use: gathers host,
/// server-reflexive and relayed candidates (§5.1.1), forms and prioritizes pairs (§6.1.2), runs connectivity checks
/// paced by Ta with triggered checks (§6.1.4, §7.3.1.4), learns peer-reflexive candidates (§7.2.5.3.1, §7.3.1.3),
/// resolves role conflicts with the 64-bit tie-breaker and 487 (§7.3.1.1), nominates with USE-CANDIDATE (regular
/// nomination, §8.1.1) and keeps checking consent on the selected pair (RFC 7675). Candidates can be trickled.
/// Each socket is a <see cref="PacketMux"/> so a DTLS layer can share it (RFC 7983).
/// </summary>
/// <remarks>
/// Thread safety: all public members may be called from any thread. State lives under one lock; events and the
/// data handler are raised outside it. Timers run on the injected <see cref="TimeProvider"/>.
/// </remarks>
public sealed partial class IceAgent : IAsyncDisposable
{
    private readonly IceAgentOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly P2PMetrics _metrics;
    private readonly Func<IPEndPoint, IDatagramSocket> _socketFactory;
    private readonly StunTransactionTable _transactions;
    private readonly object _gate = new();
    private readonly List<LocalPath> _paths = [];
    private readonly List<LocalCandidate> _locals = [];
    private readonly List<IceCandidate> _remotes = [];
    private readonly List<IceCandidatePair> _pairs = [];
    private readonly LinkedList<IceCandidatePair> _triggered = new();
    private readonly Dictionary<string, string> _foundations = [];
    private readonly TaskCompletionSource<IceCandidatePair> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _localKey;
    private IceParameters? _remote;
    private byte[]? _remoteKey;
    private ITimer? _ticker;
    private bool _gatheringDone;
    private bool _remoteEndOfCandidates;
    private bool _gatheringStarted;
    private DateTimeOffset? _firstValidAt;
    private DateTimeOffset? _checksStarted;
    private IceCandidatePair? _nominating;
    private ITimer? _nominationTimer;
    private DateTimeOffset _lastConsent;
    private DateTimeOffset _nextConsent;
    private StunTransactionId? _consentInFlight;
    private int _prflxCount;
    private double _checkTokens;
    private DateTimeOffset? _checkTokensAt;

    /// <summary>Creates an agent with fresh credentials and a random tie-breaker (RFC 8445 §5.2, §5.3).</summary>
    /// <param name="role">Controlling (the offerer, usually) or controlled.</param>
    /// <param name="options">Servers, policy and timers; validated here.</param>
    /// <param name="timeProvider">The clock of all timers; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Logging; none when null.</param>
    /// <param name="socketFactory">Binds a socket for a local address; real UDP when null (tests pass an in-memory one).</param>
    /// <param name="metrics">Counters; <see cref="P2PMetrics.Shared"/> when null.</param>
    public IceAgent(IceRole role, IceAgentOptions? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null,
        Func<IPEndPoint, IDatagramSocket>? socketFactory = null, P2PMetrics? metrics = null)
    {
        _options = options ?? new IceAgentOptions();
        IceAgentOptionsValidator.ThrowIfInvalid(_options);
        Role = role;
        _time = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<IceAgent>();
        _metrics = metrics ?? P2PMetrics.Shared;
        _socketFactory = socketFactory ?? (ep => new UdpDatagramSocket(ep));
        _transactions = new StunTransactionTable(_time);
        LocalParameters = IceParameters.Generate();
        _localKey = StunCredentials.ShortTermKey(LocalParameters.Password);
        TieBreaker = BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        _checkTokens = _options.CheckBurst;
    }

    /// <summary>This agent's ice-ufrag and ice-pwd, to send to the peer.</summary>
    public IceParameters LocalParameters { get; }

    /// <summary>The current role; it can change once after a role conflict (RFC 8445 §7.3.1.1).</summary>
    public IceRole Role { get; private set; }

    /// <summary>The 64-bit tie-breaker sent in ICE-CONTROLLING / ICE-CONTROLLED.</summary>
    public ulong TieBreaker { get; internal set; }

    /// <summary>Current state.</summary>
    public IceConnectionState State { get; private set; } = IceConnectionState.New;

    /// <summary>The selected pair once connected.</summary>
    public IceCandidatePair? SelectedPair { get; private set; }

    /// <summary>Raised for each local candidate as it is gathered (trickle ICE).</summary>
    public event Action<IceCandidate>? CandidateGathered;

    /// <summary>Raised once when gathering is finished (send end-of-candidates).</summary>
    public event Action? GatheringCompleted;

    /// <summary>Raised when <see cref="State"/> changes.</summary>
    public event Action<IceConnectionState>? StateChanged;

    /// <summary>Non-STUN datagrams from the peer (what DTLS or the application sends).</summary>
    public IceDataHandler? DataReceived { get; set; }

    /// <summary>Datagrams dropped by this agent's sockets and checks (malformed, unexpected, failed integrity).</summary>
    public long DroppedPackets
    {
        get
        {
            lock (_gate) return _paths.Sum(p => p.Mux.DroppedPackets);
        }
    }

    /// <summary>Local candidates gathered so far (including peer-reflexive ones learned from checks).</summary>
    public IReadOnlyList<IceCandidate> LocalCandidates
    {
        get
        {
            lock (_gate) return _locals.Select(l => l.Candidate).ToList();
        }
    }

    /// <summary>Remote candidates known so far (signaled and peer-reflexive).</summary>
    public IReadOnlyList<IceCandidate> RemoteCandidates
    {
        get
        {
            lock (_gate) return [.. _remotes];
        }
    }

    /// <summary>A snapshot of the checklist, highest priority first.</summary>
    public IReadOnlyList<IceCandidatePair> Pairs
    {
        get
        {
            lock (_gate) return _pairs.OrderByDescending(p => p.PriorityFor(Role == IceRole.Controlling)).ToList();
        }
    }

    /// <summary>Sets the peer's ice-ufrag and ice-pwd (from the offer or answer); checks start once both sides are known.</summary>
    public void SetRemoteParameters(IceParameters remote)
    {
        var changed = false;
        IceConnectionState state;
        lock (_gate)
        {
            _remote = remote;
            _remoteKey = StunCredentials.ShortTermKey(remote.Password);
            StartTickerLocked();
            PumpChecksLocked(ref changed); // pairs formed from peer-reflexive candidates learned before
            state = State;
        }
        if (changed) AfterStateChange(state);
    }

    /// <summary>Adds a candidate of the peer (trickled or from the offer). Non-UDP and other components are ignored.</summary>
    public void AddRemoteCandidate(IceCandidate candidate)
    {
        if (candidate.Component != 1 || !candidate.Transport.Equals("udp", StringComparison.OrdinalIgnoreCase)) return;
        var changed = false;
        IceConnectionState state;
        lock (_gate)
        {
            if (State is IceConnectionState.Closed) return;
            var existing = _remotes.FindIndex(r => r.EndPoint.Equals(candidate.EndPoint));
            if (existing >= 0)
            {
                // a peer-reflexive candidate learned earlier is now signaled: keep the signaled type and priority
                if (_remotes[existing].Type == IceCandidateType.PeerReflexive) ReplaceRemoteLocked(_remotes[existing], candidate);
                return;
            }
            _remotes.Add(candidate);
            foreach (var local in _locals) AddPairLocked(local, candidate);
            StartTickerLocked();
            PumpChecksLocked(ref changed); // a trickled candidate is checked at once, not at the next tick
            state = State;
        }
        if (changed) AfterStateChange(state);
    }

    /// <summary>The peer has sent all its candidates (trickle ICE end-of-candidates); lets the agent decide failure.</summary>
    public void AddRemoteEndOfCandidates()
    {
        lock (_gate) _remoteEndOfCandidates = true;
    }

    /// <summary>Waits until a pair is selected. Throws <see cref="IceConnectionFailedException"/> when every pair failed.</summary>
    public Task<IceCandidatePair> ConnectAsync(CancellationToken cancellationToken = default) =>
        _connected.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// Sends one datagram to the peer on the selected pair. The first byte must not be 0-3 (STUN) or 64-79 (TURN
    /// channels): RFC 7983 keeps those for the layers below; DTLS (20-63) and anything else are fine.
    /// </summary>
    public void Send(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || data[0] <= 3 || data[0] is >= 64 and <= 79)
            throw new ArgumentException("data must not start with a byte in 0-3 or 64-79 (RFC 7983: STUN and TURN channels)", nameof(data));
        LocalCandidate local;
        IPEndPoint remote;
        lock (_gate)
        {
            if (State != IceConnectionState.Connected || SelectedPair is not { } pair)
                throw new InvalidOperationException($"cannot send: the agent is {State}");
            (local, remote) = (pair.LocalCandidate, pair.Remote.EndPoint);
        }
        local.Send(data, remote);
    }

    /// <summary>
    /// Sends datagrams packed in <paramref name="data"/>, each <paramref name="segmentSize"/> bytes but the last, on
    /// the selected pair, in one system call where the socket can (see <see cref="IDatagramSocket.SendSegments"/>).
    /// </summary>
    public void SendSegments(ReadOnlySpan<byte> data, int segmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSize, 1);
        for (var offset = 0; offset < data.Length; offset += segmentSize)
        {
            var first = data[offset];
            if (first <= 3 || first is >= 64 and <= 79)
                throw new ArgumentException("no datagram may start with a byte in 0-3 or 64-79 (RFC 7983: STUN and TURN channels)", nameof(data));
        }
        if (data.IsEmpty) throw new ArgumentException("nothing to send", nameof(data));
        LocalCandidate local;
        IPEndPoint remote;
        lock (_gate)
        {
            if (State != IceConnectionState.Connected || SelectedPair is not { } pair)
                throw new InvalidOperationException($"cannot send: the agent is {State}");
            (local, remote) = (pair.LocalCandidate, pair.Remote.EndPoint);
        }
        local.SendSegments(data, segmentSize, remote);
    }

    /// <summary>Stops checks and timers, deletes TURN allocations and closes the sockets.</summary>
    public async ValueTask DisposeAsync()
    {
        List<LocalPath> paths;
        lock (_gate)
        {
            if (State == IceConnectionState.Closed) return;
            SetStateLocked(IceConnectionState.Closed, out _);
            _ticker?.Dispose();
            _nominationTimer?.Dispose();
            paths = [.. _paths];
        }
        _connected.TrySetException(new IceConnectionFailedException("the agent was closed"));
        _transactions.CancelAll();
        foreach (var path in paths)
        {
            foreach (var turn in path.TurnClients) await turn.DisposeAsync().ConfigureAwait(false);
            path.Mux.Dispose();
        }
        StateChanged?.Invoke(IceConnectionState.Closed);
    }

    private void SetStateLocked(IceConnectionState state, out bool changed)
    {
        changed = State != state;
        State = state;
        if (changed) Log.StateChanged(_logger, state);
    }

    private void RaiseState(IceConnectionState state) => StateChanged?.Invoke(state);

    private bool IsControlling => Role == IceRole.Controlling;

    private ulong PriorityOf(IceCandidatePair pair) => pair.PriorityFor(IsControlling);
}
