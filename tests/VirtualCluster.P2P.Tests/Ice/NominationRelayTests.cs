using System.Net;
using VirtualCluster.P2P.Ice;

namespace VirtualCluster.P2P.Tests.Ice;

/// <summary>
/// Nomination when relayed pairs are involved, on a fake clock over the in-memory network (a pair counts as relayed
/// when the remote candidate is announced with type relay, as a TURN server's address would be):
/// - a relayed best pair is nominated once no direct pair can still answer (patience, not the whole timeout), while a
///   direct pair that does answer is still preferred;
/// - a pending relayed pair is checked again at once when another pair to the same relayed candidate succeeds (its
///   first check was dropped, as a TURN server drops checks until the peer's permission exists), so it wins promptly.
/// Each case has a control that flips one condition and shows the other outcome.
/// </summary>
public sealed class NominationRelayTests
{
    private static readonly IPAddress Direct = IPAddress.Parse("198.51.100.2");
    private static readonly IPAddress A2 = IPAddress.Parse("192.0.2.2");

    private sealed record Outcome(IPEndPoint SelectedLocal, IPAddress SelectedRemote, TimeSpan After);

    /// <summary>
    /// B has a relayed candidate (its first address, low priority) and a direct one (<see cref="Direct"/>, high priority),
    /// with the one-way latencies given; <see cref="Timeout.InfiniteTimeSpan"/> drops every datagram of that path.
    /// </summary>
    private static async Task<Outcome> RelayedVersusDirectAsync(TimeSpan relayOneWay, TimeSpan directOneWay)
    {
        await using var h = new AgentHarness(
            configure: o =>
            {
                o.NominationPatience = TimeSpan.FromMilliseconds(100);
                o.NominationTimeout = TimeSpan.FromSeconds(1);
            },
            configureB: o => o.LocalAddresses = [AgentHarness.AddressB, Direct]);
        bool OnDirect(IPEndPoint from, IPEndPoint to) => from.Address.Equals(Direct) || to.Address.Equals(Direct);
        h.Network.Filter = (from, to) => !OnDirect(from, to) || directOneWay != Timeout.InfiniteTimeSpan;
        h.Network.Latency = (from, to) => OnDirect(from, to) ? directOneWay : relayOneWay;
        await h.ExchangeAsync(signalB: false);
        var relay = h.B.LocalCandidates.Single(c => c.EndPoint.Address.Equals(AgentHarness.AddressB));
        var direct = h.B.LocalCandidates.Single(c => c.EndPoint.Address.Equals(Direct));
        var started = h.Time.GetUtcNow();
        h.A.AddRemoteCandidate(relay with { Priority = 1_000_000, Type = IceCandidateType.Relayed });
        h.A.AddRemoteCandidate(direct with { Priority = 2_000_000_000 });
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Connected && h.B.State == IceConnectionState.Connected,
            TimeSpan.FromSeconds(5), stepMilliseconds: 2), "both agents connect");
        return new Outcome(h.A.SelectedPair!.Local.EndPoint, h.A.SelectedPair.Remote.EndPoint.Address, h.Time.GetUtcNow() - started);
    }

    [Fact]
    public async Task A_relayed_best_pair_is_nominated_once_no_direct_pair_can_still_answer()
    {
        // the direct pair never answers (as host pairs between two private networks): the relayed pair is nominated
        // after the patience, not after the 1 s NominationTimeout
        var relayed = await RelayedVersusDirectAsync(TimeSpan.FromMilliseconds(5), Timeout.InfiniteTimeSpan);
        Assert.Equal(AgentHarness.AddressB, relayed.SelectedRemote);
        Assert.True(relayed.After < TimeSpan.FromMilliseconds(300), $"relayed pair selected after {relayed.After.TotalMilliseconds} ms");

        // control: a direct pair that answers (60 ms round trip, after the relayed pair's 10 ms) is still preferred
        var direct = await RelayedVersusDirectAsync(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(30));
        Assert.Equal(Direct, direct.SelectedRemote);
    }

    [Fact]
    public async Task The_patience_for_a_direct_pair_grows_with_the_relayed_pairs_round_trip()
    {
        // 4 x the relayed pair's 160 ms round trip = 640 ms: a direct pair answering in 400 ms is waited for
        var slowRelay = await RelayedVersusDirectAsync(TimeSpan.FromMilliseconds(80), TimeSpan.FromMilliseconds(200));
        Assert.Equal(Direct, slowRelay.SelectedRemote);

        // control: with a 10 ms relayed round trip the patience is 100 ms, and the 400 ms direct pair is given up on
        var fastRelay = await RelayedVersusDirectAsync(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(200));
        Assert.Equal(AgentHarness.AddressB, fastRelay.SelectedRemote);
        Assert.True(fastRelay.After < TimeSpan.FromMilliseconds(300), $"relayed pair selected after {fastRelay.After.TotalMilliseconds} ms");
    }

    /// <summary>
    /// A has two addresses (the first ranks higher); B's only candidate is announced as relayed, so both of A's pairs
    /// go to the same relayed candidate. The first check from A's first address is dropped (no permission yet at the
    /// "TURN server"); <paramref name="secondPairWorks"/> false drops everything from A's second address too.
    /// </summary>
    private static async Task<Outcome> TwoPairsToOneRelayAsync(bool secondPairWorks)
    {
        await using var h = new AgentHarness(
            configure: o =>
            {
                o.LocalAddresses = [AgentHarness.AddressA, A2];
                o.NominationPatience = TimeSpan.FromMilliseconds(100);
                o.NominationTimeout = TimeSpan.FromSeconds(1);
            },
            configureB: o => o.LocalAddresses = [AgentHarness.AddressB]);
        var firstDropped = false;
        h.Network.Filter = (from, to) =>
        {
            if (from.Address.Equals(A2) || to.Address.Equals(A2)) return secondPairWorks;
            if (!from.Address.Equals(AgentHarness.AddressA) || !to.Address.Equals(AgentHarness.AddressB) || firstDropped) return true;
            firstDropped = true;
            return false;
        };
        h.Network.Latency = (_, _) => TimeSpan.FromMilliseconds(5);
        // B learns A's addresses only from A's checks (as through a relay), so B's own checks cannot open the first pair
        await h.ExchangeAsync(signalA: false, signalB: false);
        var started = h.Time.GetUtcNow();
        h.A.AddRemoteCandidate(h.B.LocalCandidates.Single() with { Type = IceCandidateType.Relayed });
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Connected && h.B.State == IceConnectionState.Connected,
            TimeSpan.FromSeconds(5), stepMilliseconds: 2), "both agents connect");
        Assert.True(firstDropped, "the first pair's first check was dropped");
        return new Outcome(h.A.SelectedPair!.Local.EndPoint, h.A.SelectedPair.Remote.EndPoint.Address, h.Time.GetUtcNow() - started);
    }

    [Fact]
    public async Task A_pending_pair_to_a_relayed_candidate_is_checked_again_when_another_pair_to_it_succeeds()
    {
        // the second pair succeeds within 10 ms; the first (better) pair is checked again at once, succeeds, and is
        // nominated long before its own retransmission (500 ms) would have made it succeed
        var rechecked = await TwoPairsToOneRelayAsync(secondPairWorks: true);
        Assert.Equal(AgentHarness.AddressA, rechecked.SelectedLocal.Address);
        Assert.True(rechecked.After < TimeSpan.FromMilliseconds(200), $"selected after {rechecked.After.TotalMilliseconds} ms");

        // control: with no other pair succeeding, nothing triggers the new check: the first pair succeeds on its
        // retransmission, 500 ms after its first check
        var retransmitted = await TwoPairsToOneRelayAsync(secondPairWorks: false);
        Assert.Equal(AgentHarness.AddressA, retransmitted.SelectedLocal.Address);
        Assert.True(retransmitted.After >= TimeSpan.FromMilliseconds(500), $"control selected after {retransmitted.After.TotalMilliseconds} ms");
    }
}
