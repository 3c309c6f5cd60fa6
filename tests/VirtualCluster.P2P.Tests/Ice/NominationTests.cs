using System.Net;
using VirtualCluster.P2P.Ice;

namespace VirtualCluster.P2P.Tests.Ice;

/// <summary>Nomination does not wait out the timeout for higher-priority pairs that never answer.</summary>
public sealed class NominationTests
{
    /// <summary>B's real candidate plus a higher-priority host candidate at an address nobody listens on (another home's private network).</summary>
    private static async Task<TimeSpan> TimeToSelectAsync(TimeSpan patience, TimeSpan? pacing = null)
    {
        await using var h = new AgentHarness(configure: o =>
        {
            o.NominationPatience = patience;
            if (pacing is { } ta)
            {
                o.CheckPacing = ta;
                o.CheckBurst = 1; // strict pacing: one check per Ta, so the timeline below is exact
            }
        });
        await h.ExchangeAsync(signalB: false);
        foreach (var c in h.B.LocalCandidates) h.A.AddRemoteCandidate(c with { Priority = 1000 });
        h.A.AddRemoteCandidate(new IceCandidate("9", 1, 2_000_000_000, new IPEndPoint(IPAddress.Parse("10.99.0.2"), 40000), IceCandidateType.Host));
        var started = h.Time.GetUtcNow();
        Assert.True(await h.PumpUntilAsync(() => h.A.State == IceConnectionState.Connected && h.B.State == IceConnectionState.Connected, TimeSpan.FromSeconds(10)));
        Assert.Equal(h.B.LocalCandidates[0].EndPoint, h.A.SelectedPair!.Remote.EndPoint);
        return h.Time.GetUtcNow() - started;
    }

    [Fact]
    public async Task A_pair_that_never_answers_stops_holding_back_nomination_after_the_patience()
    {
        var fast = await TimeToSelectAsync(TimeSpan.FromMilliseconds(100));
        // positive control: with patience as long as the timeout, the dead pair holds nomination for the whole second
        var slow = await TimeToSelectAsync(TimeSpan.FromSeconds(5));
        Assert.True(fast < TimeSpan.FromMilliseconds(500), $"selected after {fast.TotalMilliseconds} ms");
        Assert.True(slow >= TimeSpan.FromSeconds(1), $"control selected after {slow.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Nomination_goes_out_when_the_hold_ends_not_at_the_next_check_tick()
    {
        // Ta of 500 ms, no burst: the real pair is checked the moment it is added and succeeds at once; the dead pair
        // (higher priority) waits for the 500 ms tick. Its patience (100 ms) ends at 600 ms and the nominating check goes
        // out then, not at the next tick (1000 ms).
        var quick = await TimeToSelectAsync(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500));
        // positive control: a patience of 300 ms holds nomination until 800 ms, and not until the 1000 ms tick
        var held = await TimeToSelectAsync(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(500));
        Assert.True(quick < TimeSpan.FromMilliseconds(700), $"selected after {quick.TotalMilliseconds} ms");
        Assert.True(held >= TimeSpan.FromMilliseconds(800) && held < TimeSpan.FromMilliseconds(950), $"control selected after {held.TotalMilliseconds} ms");
    }

    [Fact]
    public void Patience_is_validated()
    {
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new IceAgent(IceRole.Controlling, new IceAgentOptions { NominationPatience = TimeSpan.FromSeconds(-1) }));
    }
}
