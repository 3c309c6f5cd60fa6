using System.Net;
using VirtualCluster.P2P.Stun;

namespace VirtualCluster.P2P.Ice;

public sealed partial class IceAgent
{
    private void StartTickerLocked()
    {
        if (_ticker is not null || _remote is null || State is IceConnectionState.Closed or IceConnectionState.Failed) return;
        _ticker = _time.CreateTimer(_ => OnTick(), null, TimeSpan.Zero, _options.CheckPacing);
    }

    /// <summary>
    /// One Ta tick (RFC 8445 §6.1.4.2): the head of the triggered-check queue if any, else the highest-priority Waiting
    /// pair, else the highest-priority Frozen pair whose foundation is not being checked. Also drives nomination,
    /// failure and consent.
    /// </summary>
    private void OnTick()
    {
        var changed = false;
        IceConnectionState state;
        lock (_gate)
        {
            if (State is IceConnectionState.Closed or IceConnectionState.Failed) return;
            var now = _time.GetUtcNow();
            if (SelectedPair is not null) ConsentTickLocked(now, ref changed);
            else
            {
                if (State == IceConnectionState.New && _pairs.Count > 0) SetStateLocked(IceConnectionState.Checking, out changed);
                if (IsControlling) NominateLocked(now);
                CheckFailureLocked(ref changed);
            }
            if (State is not IceConnectionState.Failed && _remote is not null) SendPacedChecksLocked(now);
            state = State;
        }
        if (changed) AfterStateChange(state);
    }

    private IceCandidatePair? NextPairLocked()
    {
        while (_triggered.First is { } node)
        {
            _triggered.RemoveFirst();
            var pair = node.Value;
            pair.Queued = false;
            if (pair.State == IceCandidatePairState.Waiting || (pair.State == IceCandidatePairState.Succeeded && pair.UseCandidate && IsControlling))
                return pair;
        }
        if (SelectedPair is not null) return null; // checks are done once a pair is selected; consent takes over
        IceCandidatePair? best = null;
        foreach (var p in _pairs)
        {
            if (p.State == IceCandidatePairState.Waiting && (best is null || PriorityOf(p) > PriorityOf(best))) best = p;
        }
        if (best is not null) return best;
        foreach (var p in _pairs)
        {
            if (p.State != IceCandidatePairState.Frozen) continue;
            var foundation = p.Foundation;
            if (_pairs.Any(o => o.Foundation == foundation && o.State is IceCandidatePairState.Waiting or IceCandidatePairState.InProgress)) continue;
            if (best is null || PriorityOf(p) > PriorityOf(best)) best = p;
        }
        return best;
    }

    private void EnqueueTriggeredLocked(IceCandidatePair pair, bool front = false)
    {
        if (pair.Queued) return;
        pair.Queued = true;
        if (front) _triggered.AddFirst(pair);
        else _triggered.AddLast(pair);
    }

    /// <summary>Sends a Binding request on a pair (RFC 8445 §7.2.2) and handles the outcome when it completes.</summary>
    private void SendCheckLocked(IceCandidatePair pair)
    {
        if (pair.CurrentCheck is { } previous && pair.State != IceCandidatePairState.Succeeded)
        {
            // a triggered check supersedes one still in flight: that one is no longer retransmitted, but its response
            // still counts if it comes (RFC 8445 §7.3.1.4); it often does, when both sides' first checks crossed
            _transactions.StopRetransmitting(previous);
            pair.SupersededCheck = previous;
        }
        else pair.CurrentCheckCancel?.Cancel();
        var useCandidate = IsControlling && pair.UseCandidate;
        var controlling = IsControlling;
        var request = BuildCheckLocked(pair, useCandidate, controlling, out var id);
        if (pair.State != IceCandidatePairState.Succeeded)
        {
            pair.State = IceCandidatePairState.InProgress;
            pair.CheckStartedAt = _time.GetUtcNow();
        }
        pair.CurrentCheck = id;
        var cancel = new CancellationTokenSource();
        pair.CurrentCheckCancel = cancel;
        var local = pair.LocalCandidate;
        var remote = pair.Remote.EndPoint;
        _metrics.CheckSent();
        Log.CheckSent(_logger, pair, useCandidate);
        // the result is handled on the thread that received the response: no thread-pool hop per check
        _ = _transactions.Start(id, () => local.Send(request, remote), CheckRetransmission(),
            result => OnCheckResult(pair, id, useCandidate, controlling, result), cancel.Token);
    }

    private byte[] BuildCheckLocked(IceCandidatePair pair, bool useCandidate, bool controlling, out StunTransactionId id)
    {
        id = StunTransactionId.New();
        var local = pair.LocalCandidate.Candidate;
        // PRIORITY: what a peer-reflexive candidate learned from this check would have (§7.1.1)
        var prflxPriority = IcePriority.Candidate(IceCandidateType.PeerReflexive, (ushort)((local.Priority >> 8) & 0xFFFF), local.Component);
        var builder = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, id)
            .Add(StunAttributeType.Username, $"{_remote!.Ufrag}:{LocalParameters.Ufrag}")
            .AddUInt32(StunAttributeType.Priority, prflxPriority)
            .AddUInt64(controlling ? StunAttributeType.IceControlling : StunAttributeType.IceControlled, TieBreaker);
        if (useCandidate) builder.AddFlag(StunAttributeType.UseCandidate);
        return builder.AddMessageIntegrity(_remoteKey).AddFingerprintAndBuild();
    }

    private TimeSpan CheckGiveUpTime()
    {
        var total = TimeSpan.Zero;
        var rto = _options.CheckRto;
        for (var i = 1; i < _options.MaxCheckTransmissions; i++)
        {
            total += rto;
            rto = rto * 2 > _options.MaxCheckRto ? _options.MaxCheckRto : rto * 2;
        }
        return total + _options.MaxCheckRto;
    }

    private StunRetransmission CheckRetransmission() =>
        new(_options.CheckRto, _options.MaxCheckTransmissions, FinalWaitMultiplier: Math.Max(1, (int)(_options.MaxCheckRto / _options.CheckRto)), _options.MaxCheckRto);

    /// <summary>Processes a check's response or timeout (RFC 8445 §7.2.5).</summary>
    private void OnCheckResult(IceCandidatePair pair, StunTransactionId id, bool useCandidate, bool sentControlling, StunTransactionResult result)
    {
        var changed = false;
        IceConnectionState state;
        lock (_gate)
        {
            if (State is IceConnectionState.Closed) return;
            if (pair.CurrentCheck == id)
            {
                pair.CurrentCheck = null;
                pair.CurrentCheckCancel = null;
            }
            else if (pair.SupersededCheck == id && result.Response is { Class: StunClass.SuccessResponse } && pair.State != IceCandidatePairState.Succeeded)
                pair.SupersededCheck = null; // the superseded check's success counts; the triggered one's later answer changes nothing
            else return; // superseded (cancelled, or no longer needed)
            HandleCheckResultLocked(pair, useCandidate, sentControlling, result, ref changed);
            state = State;
        }
        if (changed) AfterStateChange(state);
    }

    private void HandleCheckResultLocked(IceCandidatePair pair, bool useCandidate, bool sentControlling, StunTransactionResult result, ref bool changed)
    {
        if (result.Response is not { } response || result.Source is not { } source)
        {
            FailPairLocked(pair, "timeout");
            return;
        }
        if (!response.VerifyIntegrity(_remoteKey))
        {
            pair.LocalCandidate.Path.Mux.Drop(DropReason.BadIntegrity);
            FailPairLocked(pair, "response failed MESSAGE-INTEGRITY");
            return;
        }
        if (response.Class == StunClass.ErrorResponse)
        {
            response.TryGetError(out var code, out var reason);
            if (code == 487)
            {
                // role conflict (§7.2.5.1): take the other role than the one this check claimed, and retry
                SwitchRoleLocked(sentControlling ? IceRole.Controlled : IceRole.Controlling);
                pair.State = IceCandidatePairState.Waiting;
                EnqueueTriggeredLocked(pair, front: true);
                PumpChecksLocked(ref changed);
                return;
            }
            FailPairLocked(pair, $"{code} {reason}");
            return;
        }
        if (!source.Equals(pair.Remote.EndPoint))
        {
            FailPairLocked(pair, $"response came from {source}, not {pair.Remote.EndPoint} (non-symmetric)");
            return;
        }
        if (!response.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var mapped))
        {
            FailPairLocked(pair, "response without XOR-MAPPED-ADDRESS");
            return;
        }
        pair.MappedLocal = MappedLocalLocked(pair, mapped);
        var wasSucceeded = pair.State == IceCandidatePairState.Succeeded;
        pair.State = IceCandidatePairState.Succeeded;
        _firstValidAt ??= _time.GetUtcNow();
        if (!wasSucceeded && pair.CheckStartedAt is { } checkStarted) pair.Rtt = _time.GetUtcNow() - checkStarted;
        if (!wasSucceeded) Log.PairSucceeded(_logger, pair.ToString());
        var foundation = pair.Foundation;
        foreach (var p in _pairs)
        {
            if (p.State == IceCandidatePairState.Frozen && p.Foundation == foundation) p.State = IceCandidatePairState.Waiting;
        }
        if ((useCandidate && IsControlling) || (!IsControlling && pair.NominateOnSuccess))
        {
            if (_nominating == pair) _nominating = null;
            NominatedLocked(pair, ref changed);
        }
        else if (!wasSucceeded)
        {
            RecheckBehindSameRelayLocked(pair, ref changed);
            NominateNowLocked(); // this may have been the pair nomination was waiting for
        }
    }

    /// <summary>The local candidate whose address the peer saw (§7.2.5.3.1): an existing one, or a new peer-reflexive one.</summary>
    private IceCandidate MappedLocalLocked(IceCandidatePair pair, IPEndPoint mapped)
    {
        var local = pair.LocalCandidate;
        if (local.Relay is not null) return local.Candidate;
        var known = _locals.Find(l => l.Relay is null && l.Path == local.Path && l.Candidate.EndPoint.Equals(mapped));
        if (known is not null) return known.Candidate;
        var priority = IcePriority.Candidate(IceCandidateType.PeerReflexive, (ushort)((local.Candidate.Priority >> 8) & 0xFFFF), 1);
        var prflx = new IceCandidate(FoundationFor(IceCandidateType.PeerReflexive, local.Candidate.EndPoint.Address, mapped.Address), 1,
            priority, mapped, IceCandidateType.PeerReflexive, local.Candidate.EndPoint);
        _locals.Add(new LocalCandidate(prflx, local.Path, null));
        Log.LocalPeerReflexive(_logger, mapped);
        return prflx;
    }

    private void FailPairLocked(IceCandidatePair pair, string why)
    {
        if (pair.State != IceCandidatePairState.Succeeded) pair.State = IceCandidatePairState.Failed;
        pair.UseCandidate = false;
        if (_nominating == pair) _nominating = null;
        Log.PairFailed(_logger, pair.ToString(), why);
    }

    private void SwitchRoleLocked(IceRole role)
    {
        if (Role == role) return;
        Log.RoleSwitched(_logger, Role, role);
        Role = role;
        if (role == IceRole.Controlled)
        {
            _nominating = null;
            foreach (var p in _pairs) p.UseCandidate = false;
        }
    }

    private void CheckFailureLocked(ref bool changed)
    {
        if (!_gatheringDone || !_remoteEndOfCandidates || _triggered.Count > 0) return;
        if (_pairs.Any(p => p.State != IceCandidatePairState.Failed)) return;
        // with no pair at all, wait as long as one check would take: the peer's checks may still reveal a peer-reflexive candidate
        _checksStarted ??= _time.GetUtcNow();
        if (_pairs.Count == 0 && _time.GetUtcNow() - _checksStarted.Value < CheckGiveUpTime()) return;
        SetStateLocked(IceConnectionState.Failed, out changed);
        _ticker?.Dispose();
        _ticker = null;
    }

    private void AfterStateChange(IceConnectionState state)
    {
        if (state == IceConnectionState.Failed)
        {
            _metrics.Connection("failed");
            _connected.TrySetException(new IceConnectionFailedException(SelectedPair is null
                ? "ICE failed: every candidate pair failed"
                : "ICE failed: consent expired (RFC 7675), the peer stopped answering"));
        }
        RaiseState(state);
    }
}
