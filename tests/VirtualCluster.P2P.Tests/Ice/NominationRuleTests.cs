using System.Net;
using VirtualCluster.P2P.Ice;

namespace VirtualCluster.P2P.Tests.Ice;

/// <summary>
/// The controlling agent's nomination rule (RFC 8445 §8.1.1 with our patience): nominate the best succeeded pair as soon
/// as no pending pair of higher priority could still beat it; wait for one that could (relayed best pairs and pending
/// relayed pairs: NominationRelayTests). B has two host addresses, one behind a slow path (virtual latency on the in-memory network);
/// A is told B's candidates with the priorities each case needs. Every case has a control that flips one condition and
/// shows the other outcome, so the assertions cannot pass by accident.
/// </summary>
public sealed class NominationRuleTests
{
    private static readonly IPAddress Slow = IPAddress.Parse("198.51.100.2");

    private sealed record Outcome(IPAddress Selected, TimeSpan After, bool FastPairSucceededFirst);

    /// <param name="slowOneWay">One-way latency to and from B's second address.</param>
    /// <param name="slowIsHigher">Whether A ranks B's slow candidate above its fast one.</param>
    /// <param name="fastType">How B's fast candidate is announced (relayed makes its pairs relayed pairs).</param>
    private static async Task<Outcome> ConnectAsync(TimeSpan slowOneWay, bool slowIsHigher, TimeSpan patience, IceCandidateType fastType = IceCandidateType.Host)
    {
        await using var h = new AgentHarness(
            configure: o =>
            {
                o.NominationPatience = patience;
                o.NominationTimeout = TimeSpan.FromSeconds(1);
            },
            configureB: o => o.LocalAddresses = [AgentHarness.AddressB, Slow]);
        h.Network.Latency = (from, to) => from.Address.Equals(Slow) || to.Address.Equals(Slow) ? slowOneWay : TimeSpan.Zero;
        await h.ExchangeAsync(signalB: false);
        var fast = h.B.LocalCandidates.Single(c => c.EndPoint.Address.Equals(AgentHarness.AddressB));
        var slow = h.B.LocalCandidates.Single(c => c.EndPoint.Address.Equals(Slow));
        uint high = 2_000_000_000, low = 1_000_000;
        var started = h.Time.GetUtcNow();
        h.A.AddRemoteCandidate(fast with { Priority = slowIsHigher ? low : high, Type = fastType });
        h.A.AddRemoteCandidate(slow with { Priority = slowIsHigher ? high : low });
        DateTimeOffset? fastSucceeded = null;
        Assert.True(await h.PumpUntilAsync(() =>
        {
            if (fastSucceeded is null && h.A.Pairs.Any(p => p.Remote.EndPoint.Equals(fast.EndPoint) && p.State == IceCandidatePairState.Succeeded))
                fastSucceeded = h.Time.GetUtcNow();
            return h.A.State == IceConnectionState.Connected && h.B.State == IceConnectionState.Connected;
        }, TimeSpan.FromSeconds(5), stepMilliseconds: 2), "both agents connect");
        var selectedAt = h.Time.GetUtcNow();
        return new Outcome(h.A.SelectedPair!.Remote.EndPoint.Address, selectedAt - started, fastSucceeded < selectedAt);
    }

    [Fact]
    public async Task A_better_pair_still_being_checked_is_waited_for()
    {
        // the slow pair (80 ms round trip) ranks higher; the fast one succeeds at once, but 80 ms is within the patience
        var waited = await ConnectAsync(TimeSpan.FromMilliseconds(40), slowIsHigher: true, patience: TimeSpan.FromMilliseconds(200));
        Assert.True(waited.FastPairSucceededFirst, "the fast (lower) pair succeeded before the selection");
        Assert.Equal(Slow, waited.Selected);
        Assert.True(waited.After >= TimeSpan.FromMilliseconds(80), $"selected after {waited.After.TotalMilliseconds} ms");

        // control: a patience shorter than the slow pair's round trip gives up on it and nominates the fast pair
        var impatient = await ConnectAsync(TimeSpan.FromMilliseconds(40), slowIsHigher: true, patience: TimeSpan.FromMilliseconds(20));
        Assert.Equal(AgentHarness.AddressB, impatient.Selected);
    }

    [Fact]
    public async Task A_succeeded_best_pair_is_nominated_at_once()
    {
        // the fast pair ranks higher and succeeds at once: nothing pending could beat it, so no patience, no timeout
        var atOnce = await ConnectAsync(TimeSpan.FromMilliseconds(40), slowIsHigher: false, patience: TimeSpan.FromMilliseconds(500));
        Assert.Equal(AgentHarness.AddressB, atOnce.Selected);
        Assert.True(atOnce.After < TimeSpan.FromMilliseconds(30), $"selected after {atOnce.After.TotalMilliseconds} ms");

        // control: the same paths with the slow pair ranked higher hold nomination for at least its round trip
        var held = await ConnectAsync(TimeSpan.FromMilliseconds(40), slowIsHigher: true, patience: TimeSpan.FromMilliseconds(500));
        Assert.Equal(Slow, held.Selected);
        Assert.True(held.After >= TimeSpan.FromMilliseconds(80), $"control selected after {held.After.TotalMilliseconds} ms");
    }
}
