using System.Diagnostics;
using VirtualCluster.P2P.Dtls;
using VirtualCluster.P2P.Ice;
using VirtualCluster.P2P.Sctp;
using VirtualCluster.P2P.Sdp;

namespace VirtualCluster.P2P.PeerConnections;

public sealed partial class PeerConnection
{
    private readonly TaskCompletionSource _gathered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private IceAgent CreateAgent(IceRole role)
    {
        var agent = new IceAgent(role, _options.Ice, _time, _loggerFactory, _socketFactory);
        agent.CandidateGathered += candidate =>
        {
            // candidates gathered before the description was handed out are inline in it; only later ones trickle
            bool trickle;
            lock (_gate) trickle = _inlineDone;
            if (trickle) IceCandidate?.Invoke(candidate.ToSdp());
        };
        agent.GatheringCompleted += () =>
        {
            bool trickle;
            lock (_gate)
            {
                _gatheringDone = true;
                trickle = _inlineDone;
            }
            _gathered.TrySetResult();
            if (trickle) IceCandidate?.Invoke(null);
        };
        return agent;
    }

    /// <summary>Starts gathering and waits a little so that host candidates (and with luck all) go inline.</summary>
    private async Task GatherInlineAsync(CancellationToken cancellationToken)
    {
        var agent = _agent!;
        _ = GatherQuietlyAsync(agent); // host candidates are bound before this returns; servers answer later
        if (_options.InlineCandidateWait > TimeSpan.Zero && !_gathered.Task.IsCompleted)
        {
            try
            {
                await _gathered.Task.WaitAsync(_options.InlineCandidateWait, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // the rest trickles
            }
        }
        lock (_gate)
        {
            _version++;
            _inlineDone = true;
        }
    }

    private async Task GatherQuietlyAsync(IceAgent agent)
    {
        try
        {
            await agent.GatherAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            // closed while gathering
        }
    }

    /// <summary>Both descriptions are known: build DTLS (role from a=setup) and SCTP on the agent, and connect them in order.</summary>
    private void StartLayersLocked()
    {
        var role = DataChannelDescription.RoleFor(_local!.Setup, _remote!.Setup);
        _dtls = DtlsTransport.OverIce(_agent!, role, _certificate, _remote.PreferredFingerprint, _options.Dtls, _loggerFactory);
        var sctpOptions = CopyOf(_options.Sctp);
        sctpOptions.RemotePort = (ushort)_remote.SctpPort;
        _sctp = new SctpAssociation(_dtls, role == DtlsRole.Client, sctpOptions, _time, _loggerFactory)
        {
            // 0 means no limit (RFC 8841 §6); the association takes the smaller of this and what it can reassemble
            RemoteMaxMessageSize = _remote.MaxMessageSize is 0 or > int.MaxValue ? int.MaxValue : (int)_remote.MaxMessageSize,
        };
        // the handshake starts on the thread that saw ICE connect (a check or its response), so the first flight goes
        // out at once rather than after a thread-pool hop to RunAsync; later ConnectAsync calls join the same handshake
        var dtls = _dtls;
        _agent!.StateChanged += state =>
        {
            if (state == IceConnectionState.Connected) _ = dtls.ConnectAsync();
        };
        _sctp.DataChannelOpened += channel => DataChannel?.Invoke(channel);
        _sctp.Closed += reason => SetState(reason is null ? PeerConnectionState.Closed : PeerConnectionState.Failed, reason is null ? null : $"SCTP: {reason}");
        _ = RunAsync(_agent!, _dtls, _sctp);
    }

    private async Task RunAsync(IceAgent agent, DtlsTransport dtls, SctpAssociation sctp)
    {
        var started = Stopwatch.GetTimestamp();
        string layer = "ICE";
        try
        {
            var pair = await agent.ConnectAsync().ConfigureAwait(false);
            var ice = Stopwatch.GetElapsedTime(started);
            layer = "DTLS";
            await dtls.ConnectAsync().ConfigureAwait(false);
            var handshake = Stopwatch.GetElapsedTime(started);
            layer = "SCTP";
            await sctp.ConnectAsync().ConfigureAwait(false);
            var total = Stopwatch.GetElapsedTime(started);
            Log.Connected(_logger, (long)total.TotalMilliseconds, (long)ice.TotalMilliseconds, (long)(handshake - ice).TotalMilliseconds,
                (long)(total - handshake).TotalMilliseconds, pair.ToString());
            SetState(PeerConnectionState.Connected, null);
        }
        catch (Exception e)
        {
            SetState(PeerConnectionState.Failed, $"{layer}: {e.Message}");
        }
    }

    private void SetState(PeerConnectionState state, string? reason)
    {
        lock (_gate)
        {
            if (ConnectionState == state || ConnectionState is PeerConnectionState.Closed or PeerConnectionState.Failed) return;
            ConnectionState = state;
            if (reason is not null) FailureReason = reason;
        }
        Log.StateChanged(_logger, state, reason is null ? "" : $": {reason}");
        if (state == PeerConnectionState.Connected) _connected.TrySetResult();
        else if (state is PeerConnectionState.Failed or PeerConnectionState.Closed)
            _connected.TrySetException(new PeerConnectionFailedException(reason ?? "the connection was closed"));
        ConnectionStateChanged?.Invoke(state);
    }

    private static SctpOptions CopyOf(SctpOptions o) => new()
    {
        LocalPort = o.LocalPort,
        RemotePort = o.RemotePort,
        MaxMessageSize = o.MaxMessageSize,
        ReceiveWindow = o.ReceiveWindow,
        InitialRto = o.InitialRto,
        MinRto = o.MinRto,
        MaxRto = o.MaxRto,
        MaxRetransmissions = o.MaxRetransmissions,
        MaxInitRetransmissions = o.MaxInitRetransmissions,
        HeartbeatInterval = o.HeartbeatInterval,
        DelayedSackTimeout = o.DelayedSackTimeout,
        CookieLifetime = o.CookieLifetime,
        InitialCongestionWindow = o.InitialCongestionWindow,
        MaxOutstandingBytes = o.MaxOutstandingBytes,
        PacketsPerSack = o.PacketsPerSack,
        MaxSendBuffer = o.MaxSendBuffer,
    };
}
