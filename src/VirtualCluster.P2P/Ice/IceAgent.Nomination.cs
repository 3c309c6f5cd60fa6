namespace VirtualCluster.P2P.Ice;

public sealed partial class IceAgent
{
    /// <summary>
    /// Regular nomination by the controlling agent (RFC 8445 §8.1.1): once no higher-priority pair could still beat
    /// the best valid pair, or <see cref="IceAgentOptions.NominationTimeout"/> after the first pair succeeded, repeat
    /// the check on that pair with USE-CANDIDATE. A higher pair could still beat it while it is frozen or waiting, or
    /// while its check has been unanswered for less than max(<see cref="IceAgentOptions.NominationPatience"/>,
    /// 4 × the best pair's round trip): an answer later than that is unlikely, and host pairs between private
    /// networks never answer at all, so waiting the whole timeout for them only slows setup. This holds when the best
    /// valid pair is relayed too (its round trip, through the relay, is the longer one, so the patience grows with it):
    /// waiting the whole timeout there made every relayed setup last over a second on the NAT lab. A pending pair
    /// through a TURN relay keeps the full timeout (its first checks are dropped until the peer's permission exists,
    /// and on the NAT lab a shorter wait nominated relay-to-relay where direct-to-relay was about to succeed); such a
    /// pair is checked again at once when another pair to the same relayed candidate succeeds
    /// (<see cref="RecheckBehindSameRelayLocked"/>), so it rarely needs long.
    /// </summary>
    private void NominateLocked(DateTimeOffset now)
    {
        if (_nominating is not null || _firstValidAt is null || SelectedPair is not null) return;
        IceCandidatePair? best = null;
        foreach (var p in _pairs)
        {
            if (p.State == IceCandidatePairState.Succeeded && (best is null || PriorityOf(p) > PriorityOf(best))) best = p;
        }
        if (best is null) return;
        var bestPriority = PriorityOf(best);
        var patience = _options.NominationPatience;
        if (best.Rtt is { } rtt && rtt * 4 > patience) patience = rtt * 4;
        var timeoutAt = _firstValidAt.Value + _options.NominationTimeout;
        var higherPending = false;
        var reconsiderAt = timeoutAt;
        foreach (var p in _pairs)
        {
            if (PriorityOf(p) <= bestPriority) continue;
            if (p.State is IceCandidatePairState.Frozen or IceCandidatePairState.Waiting) higherPending = true;
            else if (p.State == IceCandidatePairState.InProgress)
            {
                // relayed pairs wait for TURN permissions: full timeout for them
                if (p.IsRelayed || p.CheckStartedAt is not { } started) higherPending = true;
                else if (now - started < patience)
                {
                    higherPending = true;
                    if (started + patience < reconsiderAt) reconsiderAt = started + patience;
                }
            }
        }
        if (higherPending && now < timeoutAt)
        {
            // look again the moment the last pending pair stops counting, not at the next Ta tick (up to 50 ms later)
            ScheduleNominationLocked(reconsiderAt - now);
            return;
        }
        _nominating = best;
        best.UseCandidate = true;
        EnqueueTriggeredLocked(best, front: true);
        Log.Nominating(_logger, best.ToString());
    }

    /// <summary>
    /// Between Ta ticks (a pair just succeeded, or the nomination wake-up fired): nominate if nothing higher could still
    /// succeed, and send the nominating check at once instead of at the next tick.
    /// </summary>
    private void NominateNowLocked()
    {
        if (!IsControlling || _nominating is not null || SelectedPair is not null || State is IceConnectionState.Closed or IceConnectionState.Failed) return;
        NominateLocked(_time.GetUtcNow());
        if (_nominating is { } pair && pair.Queued)
        {
            _triggered.Remove(pair);
            pair.Queued = false;
            SendCheckLocked(pair);
        }
    }

    /// <summary>
    /// A pair to the peer's relayed candidate succeeded: the peer's TURN server relays to us, and the peer has asked
    /// it for permissions as it checked its own relayed pairs (in priority order, so the permissions for our other
    /// addresses come first). Checks that other pairs sent to the same relayed candidate before then were most likely
    /// dropped by the server for want of a permission; send them again now as triggered checks instead of waiting for
    /// their retransmission (500 ms after the first): on the NAT lab this is what makes direct-to-relay succeed before
    /// relay-to-relay gets nominated. Only pairs that rank above <paramref name="succeeded"/> and have gone unanswered
    /// for at least its round trip.
    /// </summary>
    private void RecheckBehindSameRelayLocked(IceCandidatePair succeeded, ref bool changed)
    {
        if (!succeeded.Remote.IsRelayed || SelectedPair is not null) return;
        var now = _time.GetUtcNow();
        var rtt = succeeded.Rtt ?? TimeSpan.Zero;
        var priority = PriorityOf(succeeded);
        var any = false;
        foreach (var p in _pairs)
        {
            if (p == succeeded || p.State != IceCandidatePairState.InProgress || p.Queued || PriorityOf(p) <= priority) continue;
            if (!p.Remote.EndPoint.Equals(succeeded.Remote.EndPoint) || p.CheckStartedAt is not { } started || now - started < rtt) continue;
            p.State = IceCandidatePairState.Waiting;
            EnqueueTriggeredLocked(p, front: true);
            Log.Rechecking(_logger, p.ToString());
            any = true;
        }
        if (any) PumpChecksLocked(ref changed);
    }

    private void ScheduleNominationLocked(TimeSpan delay)
    {
        if (delay < TimeSpan.FromMilliseconds(1)) delay = TimeSpan.FromMilliseconds(1);
        if (_nominationTimer is null)
        {
            _nominationTimer = _time.CreateTimer(_ =>
            {
                lock (_gate) NominateNowLocked();
            }, null, delay, Timeout.InfiniteTimeSpan);
        }
        else _nominationTimer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A pair is nominated: select it if it beats the current selection, and start consent freshness.</summary>
    private void NominatedLocked(IceCandidatePair pair, ref bool changed)
    {
        pair.Nominated = true;
        if (SelectedPair is { } current && PriorityOf(current) >= PriorityOf(pair)) return;
        SelectedPair = pair;
        var now = _time.GetUtcNow();
        _lastConsent = now;
        _nextConsent = now + NextConsentDelay();
        if (State != IceConnectionState.Connected)
        {
            SetStateLocked(IceConnectionState.Connected, out changed);
            _metrics.Connection(pair.IsRelayed ? "relayed" : "direct");
        }
        _triggered.Clear();
        foreach (var p in _pairs) p.Queued = false;
        Log.Selected(_logger, pair.ToString());
        _connected.TrySetResult(pair);
        if (pair.LocalCandidate.Relay is { } turn)
        {
            var remote = pair.Remote.EndPoint;
            _ = BindChannelQuietlyAsync(turn, remote);
        }
    }

    private async Task BindChannelQuietlyAsync(Turn.TurnClient turn, System.Net.IPEndPoint remote)
    {
        try
        {
            await turn.BindChannelAsync(remote).ConfigureAwait(false); // ChannelData: 4 bytes of overhead instead of 36
        }
        catch (Turn.TurnException e)
        {
            Log.ChannelBindFailed(_logger, remote, e.Message);
        }
    }

    /// <summary>
    /// Consent freshness (RFC 7675 §5.1): a Binding request on the selected pair every <see cref="IceAgentOptions.ConsentInterval"/>
    /// ±20%; when no check has succeeded for <see cref="IceAgentOptions.ConsentTimeout"/>, consent expires and the agent
    /// fails and stops sending.
    /// </summary>
    private void ConsentTickLocked(DateTimeOffset now, ref bool changed)
    {
        if (State != IceConnectionState.Connected || SelectedPair is not { } pair) return;
        if (now - _lastConsent >= _options.ConsentTimeout)
        {
            Log.ConsentExpired(_logger, pair.ToString());
            SetStateLocked(IceConnectionState.Failed, out changed);
            _ticker?.Dispose();
            _ticker = null;
            return;
        }
        if (now < _nextConsent || _consentInFlight is not null) return;
        _nextConsent = now + NextConsentDelay();
        var request = BuildCheckLocked(pair, useCandidate: false, IsControlling, out var id);
        _consentInFlight = id;
        var local = pair.LocalCandidate;
        var remote = pair.Remote.EndPoint;
        _ = _transactions.Start(id, () => local.Send(request, remote), CheckRetransmission(), result =>
        {
            lock (_gate)
            {
                if (_consentInFlight == id) _consentInFlight = null;
                var response = result.Response;
                if (response is { Class: Stun.StunClass.SuccessResponse } && response.VerifyIntegrity(_remoteKey)
                    && remote.Equals(result.Source))
                    _lastConsent = _time.GetUtcNow();
            }
        });
    }

    private TimeSpan NextConsentDelay() => _options.ConsentInterval * (0.8 + 0.4 * Random.Shared.NextDouble());
}
