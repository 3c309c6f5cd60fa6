using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using VirtualCluster.P2P.Stun;
using VirtualCluster.P2P.Transport;
using VirtualCluster.P2P.Turn;

namespace VirtualCluster.P2P.Ice;

public sealed partial class IceAgent
{
    /// <summary>
    /// Gathers candidates (RFC 8445 §5.1.1): binds a socket per local address (host candidates), asks each STUN server
    /// for the server-reflexive address and each TURN server for an allocation (relayed candidate), raising
    /// <see cref="CandidateGathered"/> for each as soon as it is known, then <see cref="GatheringCompleted"/>.
    /// Servers that do not answer within <see cref="IceAgentOptions.GatheringTimeout"/> are skipped.
    /// </summary>
    public async Task GatherAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_gatheringStarted) throw new InvalidOperationException("gathering already started");
            _gatheringStarted = true;
        }
        var addresses = _options.LocalAddresses.Count > 0 ? [.. _options.LocalAddresses] : LocalAddresses();
        var relayOnly = _options.TransportPolicy == IceTransportPolicy.Relay;
        var work = new List<Task>();
        var index = 0;
        foreach (var address in addresses)
        {
            IDatagramSocket socket;
            try
            {
                socket = _socketFactory(new IPEndPoint(address, index == 0 ? _options.Port : 0));
            }
            catch (SocketException e)
            {
                Log.BindFailed(_logger, address, e.Message);
                continue;
            }
            var path = new LocalPath(new PacketMux(socket, _transactions, _metrics), index);
            var localPreference = (ushort)(65535 - Math.Min(index, 65535));
            var host = new IceCandidate(FoundationFor(IceCandidateType.Host, address, null), 1,
                IcePriority.Candidate(IceCandidateType.Host, localPreference, 1), socket.LocalEndPoint, IceCandidateType.Host);
            var hostLocal = new LocalCandidate(host, path, null);
            path.Mux.StunReceived = (message, source) => OnStunRequest(message, source, hostLocal);
            path.Mux.DataReceived = (data, source) => OnData(data, source);
            var changed = false;
            IceConnectionState state;
            lock (_gate)
            {
                _paths.Add(path);
                // relay-only agents keep the host socket (it carries the TURN traffic) but neither pair nor offer it
                if (!relayOnly) AddLocalLocked(hostLocal);
                PumpChecksLocked(ref changed); // the peer's candidates may be known already (the answerer's case)
                state = State;
            }
            if (changed) AfterStateChange(state);
            if (!relayOnly) CandidateGathered?.Invoke(host);
            foreach (var server in _options.Servers)
            {
                // a TURN server's Allocate response carries the mapped address too: no separate Binding to the same
                // server (two first datagrams of one flow can also race in a NAT's conntrack and lose one)
                if (server.Kind == IceServerKind.Stun && _options.Servers.Any(t => t.Kind == IceServerKind.Turn
                        && t.Port == server.Port && string.Equals(t.Host, server.Host, StringComparison.OrdinalIgnoreCase)))
                    continue;
                work.Add(GatherFromServerAsync(path, hostLocal, server, localPreference, cancellationToken));
            }
            index++;
        }
        await Task.WhenAll(work).ConfigureAwait(false);
        lock (_gate) _gatheringDone = true;
        Log.GatheringDone(_logger, LocalCandidates.Count);
        GatheringCompleted?.Invoke();
    }

    private async Task GatherFromServerAsync(LocalPath path, LocalCandidate host, IceServer server, ushort localPreference, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.GatheringTimeout);
        try
        {
            var endPoint = await ResolveAsync(server, host.Candidate.EndPoint.AddressFamily, timeout.Token).ConfigureAwait(false);
            if (endPoint is null) return;
            if (server.Kind == IceServerKind.Stun)
            {
                var result = await new StunClient(path.Mux, StunRetransmission.Default, _options.Software).GetMappedAddressAsync(endPoint, timeout.Token).ConfigureAwait(false);
                if (result.MappedEndPoint is { } mapped) AddServerReflexive(path, host, mapped, endPoint.Address, localPreference);
                else Log.ServerFailed(_logger, server.Host, result.Error ?? "no answer");
                return;
            }
            var turn = NewTurnClient(path, endPoint, server);
            IPEndPoint relayed, mappedByTurn;
            try
            {
                (relayed, mappedByTurn, _) = await turn.AllocateAsync(timeout.Token).ConfigureAwait(false);
                AddServerReflexive(path, host, mappedByTurn, endPoint.Address, localPreference);
            }
            catch (TurnException e) when (e.Code == 437)
            {
                // the server still holds an allocation for this 5-tuple (e.g. from an earlier process on this port):
                // allocate from a fresh socket, a new 5-tuple (RFC 8656 §7.3); the relayed candidate does not need the host's
                Log.AllocationMismatch(_logger, server.Host);
                path = NewRelayOnlyPath(host.Candidate.EndPoint.Address, path.Index);
                turn = NewTurnClient(path, endPoint, server);
                (relayed, mappedByTurn, _) = await turn.AllocateAsync(timeout.Token).ConfigureAwait(false);
            }
            var candidate = new IceCandidate(FoundationFor(IceCandidateType.Relayed, relayed.Address, endPoint.Address), 1,
                IcePriority.Candidate(IceCandidateType.Relayed, localPreference, 1), relayed, IceCandidateType.Relayed, mappedByTurn);
            var local = new LocalCandidate(candidate, path, turn);
            turn.DataReceived = (data, peer) => OnRelayed(data, peer, local);
            var changed = false;
            IceConnectionState state;
            lock (_gate)
            {
                AddLocalLocked(local);
                PumpChecksLocked(ref changed);
                state = State;
            }
            if (changed) AfterStateChange(state);
            CandidateGathered?.Invoke(candidate);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.ServerFailed(_logger, server.Host, "timeout");
        }
        catch (Exception e) when (e is TurnException or SocketException)
        {
            Log.ServerFailed(_logger, server.Host, e.Message);
        }
    }

    private TurnClient NewTurnClient(LocalPath path, IPEndPoint endPoint, IceServer server)
    {
        var turn = new TurnClient(path.Mux, endPoint, server.Username!, server.Password!, new TurnClientOptions { Software = _options.Software },
            _time, _loggerFactory.CreateLogger<TurnClient>());
        lock (_gate) path.TurnClients.Add(turn);
        return turn;
    }

    private LocalPath NewRelayOnlyPath(IPAddress address, int index)
    {
        var path = new LocalPath(new PacketMux(_socketFactory(new IPEndPoint(address, 0)), _transactions, _metrics), index);
        lock (_gate) _paths.Add(path);
        return path;
    }

    private void AddServerReflexive(LocalPath path, LocalCandidate host, IPEndPoint mapped, IPAddress server, ushort localPreference)
    {
        if (_options.TransportPolicy == IceTransportPolicy.Relay) return;
        IceCandidate candidate;
        lock (_gate)
        {
            var same = _locals.FindIndex(l => l.Relay is null && l.Candidate.EndPoint.Equals(mapped));
            // same as the host (no NAT) or already known; but a peer-reflexive one learned from a check answered before the
            // server did is replaced: it is never signaled, and the peer should hear of this address as server-reflexive
            if (same >= 0 && _locals[same].Candidate.Type != IceCandidateType.PeerReflexive) return;
            candidate = new IceCandidate(FoundationFor(IceCandidateType.ServerReflexive, host.Candidate.EndPoint.Address, server), 1,
                IcePriority.Candidate(IceCandidateType.ServerReflexive, localPreference, 1), mapped, IceCandidateType.ServerReflexive,
                host.Candidate.EndPoint);
            // a server-reflexive candidate is paired through its base, the host candidate (§6.1.2.4): no new pairs
            var local = new LocalCandidate(candidate, path, null);
            if (same < 0) _locals.Add(local);
            else
            {
                var learned = _locals[same].Candidate;
                _locals[same] = local;
                foreach (var pair in _pairs)
                {
                    if (pair.MappedLocal == learned) pair.MappedLocal = candidate;
                }
            }
        }
        CandidateGathered?.Invoke(candidate);
    }

    private static async Task<IPEndPoint?> ResolveAsync(IceServer server, AddressFamily family, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(server.Host, out var literal))
            return literal.AddressFamily == family ? new IPEndPoint(literal, server.Port) : null;
        var addresses = await Dns.GetHostAddressesAsync(server.Host, family, cancellationToken).ConfigureAwait(false);
        return addresses.Length > 0 ? new IPEndPoint(addresses[0], server.Port) : null;
    }

    private List<IPAddress> LocalAddresses()
    {
        var result = new List<IPAddress>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            var loopback = nic.NetworkInterfaceType == NetworkInterfaceType.Loopback;
            if (nic.OperationalStatus == OperationalStatus.Down || (loopback && !_options.IncludeLoopback)) continue;
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                var address = unicast.Address;
                if (IPAddress.IsLoopback(address) && !_options.IncludeLoopback) continue;
                if (address.AddressFamily == AddressFamily.InterNetwork)
                {
                    if (address.GetAddressBytes() is [169, 254, ..]) continue;
                    result.Add(address);
                }
                else if (address.AddressFamily == AddressFamily.InterNetworkV6 && _options.IncludeIPv6
                    && !address.IsIPv6LinkLocal && !address.IsIPv6SiteLocal && !address.IsIPv4MappedToIPv6)
                {
                    result.Add(address);
                }
            }
        }
        return result;
    }

    /// <summary>Same type, base address and server give the same foundation (RFC 8445 §5.1.1.3).</summary>
    private string FoundationFor(IceCandidateType type, IPAddress baseAddress, IPAddress? server)
    {
        var key = $"{type}|{baseAddress}|{server}";
        lock (_gate)
        {
            if (!_foundations.TryGetValue(key, out var foundation))
            {
                foundation = (_foundations.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                _foundations[key] = foundation;
            }
            return foundation;
        }
    }

    private void AddLocalLocked(LocalCandidate local)
    {
        _locals.Add(local);
        foreach (var remote in _remotes) AddPairLocked(local, remote);
    }

    private IceCandidatePair? AddPairLocked(LocalCandidate local, IceCandidate remote)
    {
        if (local.Candidate.Type is not (IceCandidateType.Host or IceCandidateType.Relayed)) return null;
        if (local.Candidate.EndPoint.AddressFamily != remote.EndPoint.AddressFamily) return null;
        var existing = _pairs.Find(p => p.LocalCandidate == local && p.Remote.EndPoint.Equals(remote.EndPoint));
        if (existing is not null) return existing;
        if (_pairs.Count >= _options.MaxPairs)
        {
            Log.TooManyPairs(_logger, _options.MaxPairs);
            return null;
        }
        var pair = new IceCandidatePair(local, remote);
        var foundation = pair.Foundation;
        var active = _pairs.Any(p => p.Foundation == foundation && p.State is IceCandidatePairState.Waiting or IceCandidatePairState.InProgress or IceCandidatePairState.Succeeded);
        pair.State = active ? IceCandidatePairState.Frozen : IceCandidatePairState.Waiting;
        _pairs.Add(pair);
        return pair;
    }

    private void ReplaceRemoteLocked(IceCandidate old, IceCandidate replacement)
    {
        _remotes[_remotes.IndexOf(old)] = replacement;
        foreach (var pair in _pairs)
        {
            if (pair.Remote == old) pair.Remote = replacement;
        }
    }
}
