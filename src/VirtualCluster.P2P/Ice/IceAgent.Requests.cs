using System.Net;
using VirtualCluster.P2P.Stun;

namespace VirtualCluster.P2P.Ice;

public sealed partial class IceAgent
{
    private static readonly HashSet<ushort> KnownCheckAttributes =
    [
        StunAttributeType.Username, StunAttributeType.MessageIntegrity, StunAttributeType.MessageIntegritySha256,
        StunAttributeType.Priority, StunAttributeType.UseCandidate, StunAttributeType.Fingerprint,
    ];

    /// <summary>Routes a datagram relayed by TURN: STUN responses to the transactions, requests to the check handler, the rest is data.</summary>
    private void OnRelayed(ReadOnlySpan<byte> data, IPEndPoint peer, LocalCandidate relay)
    {
        if (data.IsEmpty) return;
        if (data[0] > 3)
        {
            OnData(data, peer);
            return;
        }
        if (!StunMessage.TryParse(data, out var message))
        {
            relay.Path.Mux.Drop(DropReason.MalformedStun);
            return;
        }
        if (message.Class is StunClass.SuccessResponse or StunClass.ErrorResponse)
        {
            if (!_transactions.TryComplete(message, peer)) relay.Path.Mux.Drop(DropReason.UnmatchedResponse);
        }
        else OnStunRequest(message, peer, relay);
    }

    private void OnData(ReadOnlySpan<byte> data, IPEndPoint source)
    {
        IceDataHandler? handler;
        lock (_gate)
        {
            if (State is IceConnectionState.Closed or IceConnectionState.Failed) return;
            handler = DataReceived;
            if (handler is null || !_remotes.Exists(r => r.EndPoint.Equals(source))) handler = null;
        }
        if (handler is null)
        {
            DropOnFirstPath(DropReason.Unexpected);
            return;
        }
        handler(data);
    }

    /// <summary>
    /// Answers a connectivity check (RFC 8445 §7.3): authenticates it with the short-term credential, resolves role
    /// conflicts (§7.3.1.1), responds with XOR-MAPPED-ADDRESS, learns a peer-reflexive candidate (§7.3.1.3), queues
    /// a triggered check (§7.3.1.4) and records USE-CANDIDATE (§7.3.1.5).
    /// </summary>
    private void OnStunRequest(StunMessage request, IPEndPoint source, LocalCandidate via)
    {
        if (request.Method != StunMethod.Binding || request.Class != StunClass.Request)
        {
            if (!(request.Method == StunMethod.Binding && request.Class == StunClass.Indication)) via.Path.Mux.Drop(DropReason.Unexpected);
            return; // Binding indications are keepalives
        }
        if (request.FingerprintOffset >= 0 && !request.CheckFingerprint())
        {
            via.Path.Mux.Drop(DropReason.MalformedStun);
            return;
        }
        var username = request.GetString(StunAttributeType.Username);
        if (username is null || !request.HasIntegrity)
        {
            Reply(via, source, StunResponses.Error(request, 400, "Bad Request: USERNAME and MESSAGE-INTEGRITY are required"));
            return;
        }
        var colon = username.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || username[..colon] != LocalParameters.Ufrag || !request.VerifyIntegrity(_localKey))
        {
            via.Path.Mux.Drop(DropReason.BadIntegrity);
            Reply(via, source, StunResponses.Error(request, 401, "Unauthorized"));
            return;
        }
        var unknown = StunResponses.UnknownComprehensionRequired(request, KnownCheckAttributes);
        if (unknown.Count > 0)
        {
            Reply(via, source, StunResponses.Error(request, 420, "Unknown Attribute", _localKey, unknown));
            return;
        }
        var theirControlling = request.GetUInt64(StunAttributeType.IceControlling);
        var theirControlled = request.GetUInt64(StunAttributeType.IceControlled);
        var changed = false;
        IceConnectionState state;
        byte[] response;
        var accepted = true;
        lock (_gate)
        {
            if (State is IceConnectionState.Closed) return;
            if (_options.TransportPolicy == IceTransportPolicy.Relay && via.Relay is null) return;
            if (IsControlling && theirControlling is { } tc)
            {
                if (TieBreaker >= tc)
                {
                    accepted = false;
                    response = StunResponses.Error(request, 487, "Role Conflict", _localKey);
                }
                else
                {
                    SwitchRoleLocked(IceRole.Controlled);
                    response = StunResponses.BindingSuccess(request, source, _localKey);
                }
            }
            else if (!IsControlling && theirControlled is { } td)
            {
                if (TieBreaker >= td)
                {
                    SwitchRoleLocked(IceRole.Controlling);
                    response = StunResponses.BindingSuccess(request, source, _localKey);
                }
                else
                {
                    accepted = false;
                    response = StunResponses.Error(request, 487, "Role Conflict", _localKey);
                }
            }
            else response = StunResponses.BindingSuccess(request, source, _localKey);

            if (accepted) OnValidCheckLocked(request, source, via, ref changed);
            state = State;
        }
        Reply(via, source, response);
        if (accepted)
        {
            // the triggered check (RFC 8445 §7.3.1.4) goes out now, pacing allowing, after the response the peer waits for
            lock (_gate)
            {
                PumpChecksLocked(ref changed);
                state = State;
            }
        }
        if (changed) AfterStateChange(state);
    }

    private void OnValidCheckLocked(StunMessage request, IPEndPoint source, LocalCandidate via, ref bool changed)
    {
        var remote = _remotes.Find(r => r.EndPoint.Equals(source));
        if (remote is null)
        {
            var priority = request.GetUInt32(StunAttributeType.Priority) ?? IcePriority.Candidate(IceCandidateType.PeerReflexive, 65535, 1);
            remote = new IceCandidate("p" + (++_prflxCount).ToString(System.Globalization.CultureInfo.InvariantCulture), 1, priority, source, IceCandidateType.PeerReflexive);
            _remotes.Add(remote);
            Log.RemotePeerReflexive(_logger, source);
        }
        var pair = _pairs.Find(p => p.LocalCandidate == via && p.Remote.EndPoint.Equals(source)) ?? AddPairLocked(via, remote);
        if (pair is null) return;
        Log.CheckReceived(_logger, pair);
        switch (pair.State)
        {
            case IceCandidatePairState.Succeeded:
                break;
            case IceCandidatePairState.InProgress:
                // restart the check now that the peer's NAT has a hole for us (§7.3.1.4)
                pair.State = IceCandidatePairState.Waiting;
                EnqueueTriggeredLocked(pair);
                break;
            default:
                pair.State = IceCandidatePairState.Waiting;
                EnqueueTriggeredLocked(pair);
                break;
        }
        if (State == IceConnectionState.New) SetStateLocked(IceConnectionState.Checking, out changed);
        if (!IsControlling && request.Has(StunAttributeType.UseCandidate))
        {
            if (pair.State == IceCandidatePairState.Succeeded) NominatedLocked(pair, ref changed);
            else pair.NominateOnSuccess = true;
        }
        StartTickerLocked();
    }

    private static void Reply(LocalCandidate via, IPEndPoint destination, byte[] response) => via.Send(response, destination);

    private void DropOnFirstPath(string reason)
    {
        LocalPath? path;
        lock (_gate) path = _paths.Count > 0 ? _paths[0] : null;
        path?.Mux.Drop(reason);
    }
}
