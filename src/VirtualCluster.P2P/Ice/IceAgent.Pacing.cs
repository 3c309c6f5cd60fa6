namespace VirtualCluster.P2P.Ice;

public sealed partial class IceAgent
{
    /// <summary>
    /// New work between ticks (pairs formed from a trickled or newly gathered candidate, a triggered check): send what
    /// the pacing allows now instead of at the next Ta tick, e.g. the check to the peer's server-reflexive candidate the
    /// moment it arrives, which opens this side's NAT for the peer's checks.
    /// </summary>
    private void PumpChecksLocked(ref bool changed)
    {
        if (_ticker is null || _remote is null || SelectedPair is not null || State is IceConnectionState.Closed or IceConnectionState.Failed) return;
        if (State == IceConnectionState.New && _pairs.Count > 0) SetStateLocked(IceConnectionState.Checking, out changed);
        SendPacedChecksLocked(_time.GetUtcNow());
    }

    /// <summary>Sends checks while the token bucket allows (one token per Ta, at most <see cref="IceAgentOptions.CheckBurst"/>).</summary>
    private void SendPacedChecksLocked(DateTimeOffset now)
    {
        if (_checkTokensAt is { } last)
            _checkTokens = Math.Min(_options.CheckBurst, _checkTokens + (now - last) / _options.CheckPacing);
        _checkTokensAt = now;
        var sent = false;
        while (_checkTokens >= 1 && NextPairLocked() is { } pair)
        {
            _checkTokens -= 1;
            SendCheckLocked(pair);
            sent = true;
        }
        // a higher pair that was waiting is now being checked: nomination can be decided when its patience ends,
        // instead of when the nomination timeout does
        if (sent) NominateNowLocked();
    }
}
