namespace VirtualCluster.P2P.Ice;

public sealed partial class IceAgent
{
    /// <summary>
    /// Regular nomination by the controlling agent (RFC 8445 §8.1.1): once no higher-priority pair could still beat
    /// the best valid pair, or <see cref="IceAgentOptions.NominationTimeout"/> after the first pair succeeded, repeat
    /// the check on that pair with USE-CANDIDATE. A higher pair could still beat it while it is frozen or waiting, or
    /// while its check has been unanswered for less than max(<see cref="IceAgentOptions.NominationPatience"/>,
    /// 4 × the best pair's round trip): an answer later than that is unlikely, and host pairs between private
    /// networks never answer at all, so waiting the whole timeout for them only slows setup. When the best valid pair
    /// is relayed, or the pending pair is (its check waits for TURN permissions), the full timeout still applies: on the
    /// NAT lab a shorter wait nominated relay-to-relay where the direct-to-relay pair was about to succeed.
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
                // relayed pairs wait for TURN permissions and a relayed best is worth replacing: full timeout for them
                if (best.IsRelayed || p.IsRelayed || p.CheckStartedAt is not { } started) higherPending = true;
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
