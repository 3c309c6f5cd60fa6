using System.Collections.Concurrent;
using System.Security.Cryptography;
using VirtualCluster.P2P.DataChannels;
using VirtualCluster.P2P.Sctp;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.P2P.Tests.Sctp;

/// <summary>
/// PMTU probing (RFC 8899 / RFC 8261 §5) over an in-memory link whose ends accept 16 KiB packets but whose path
/// may drop anything above a size: the positive control (nothing dropped) reaches the largest size, a path that
/// drops big packets stays at the base size after its probes went unanswered, and a path that starts dropping
/// later (a black hole) still delivers everything.
/// </summary>
public sealed class SctpPathMtuTests
{
    private const int Base = 1200, Limit = 16384;

    private static Action<MemoryLink> Path(Func<int> carries, ConcurrentBag<int>? dropped = null) => link =>
    {
        link.A.MaxProbePacketSize = Limit;
        link.B.MaxProbePacketSize = Limit;
        link.Filter = (_, packet) =>
        {
            if (packet.Length <= carries()) return true;
            dropped?.Add(packet.Length);
            return false;
        };
    };

    private static async Task RoundTripAsync(SctpPair pair, int size)
    {
        var (onA, onB) = await pair.OpenAsync($"t{size}");
        var got = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        onB.MessageReceived += (_, m, _) => got.TrySetResult(m.ToArray());
        var message = RandomNumberGenerator.GetBytes(size);
        onA.Send(message);
        Assert.Equal(SHA256.HashData(message), SHA256.HashData(await got.Task.WaitAsync(TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public async Task A_path_that_carries_big_packets_gets_the_largest_size_and_uses_it()
    {
        await using var pair = await SctpPair.ConnectAsync(mtu: Base, configure: Path(() => int.MaxValue));
        await Eventually.TrueAsync(() => pair.A.PathMtu == Limit && pair.B.PathMtu == Limit, "both ends probe up to 16 KiB");
        var biggest = 0;
        pair.Link.Filter = (_, p) => { InterlockedMax(ref biggest, p.Length); return true; };
        await RoundTripAsync(pair, 200_000);
        Assert.InRange(biggest, Base + 1, Limit); // DATA went out in packets larger than the base size
    }

    [Fact]
    public async Task A_path_that_drops_big_datagrams_stays_at_the_base_size_and_still_carries_everything()
    {
        var dropped = new ConcurrentBag<int>();
        await using var pair = await SctpPair.ConnectAsync(mtu: Base, configure: Path(() => Base, dropped));
        // every rung of the ladder was tried three times (RFC 8899 MAX_PROBES) before giving up
        await Eventually.TrueAsync(() => pair.A.PathMtuProbesSent >= 9 && pair.B.PathMtuProbesSent >= 9, "both ends exhaust their probes",
            TimeSpan.FromSeconds(30), () => $"A sent {pair.A.PathMtuProbesSent}, B sent {pair.B.PathMtuProbesSent}");
        Assert.Equal(Base, pair.A.PathMtu);
        Assert.Equal(Base, pair.B.PathMtu);
        Assert.All(dropped, size => Assert.True(size > Base));
        Assert.Contains(Limit, dropped);
        await RoundTripAsync(pair, 200_000);
    }

    [Fact]
    public async Task A_path_that_carries_only_jumbo_frames_settles_on_the_jumbo_rung()
    {
        await using var pair = await SctpPair.ConnectAsync(mtu: Base, configure: Path(() => 9000));
        await Eventually.TrueAsync(() => pair.A.PathMtu > Base, "A finds a larger size", TimeSpan.FromSeconds(30));
        Assert.InRange(pair.A.PathMtu, 8800, 9000);
        await RoundTripAsync(pair, 100_000);
    }

    [Fact]
    public async Task When_the_path_shrinks_after_probing_the_association_falls_back_and_loses_nothing()
    {
        var carries = int.MaxValue;
        await using var pair = await SctpPair.ConnectAsync(mtu: Base, configure: Path(() => Volatile.Read(ref carries)));
        await Eventually.TrueAsync(() => pair.A.PathMtu == Limit, "A probes up to 16 KiB");
        Volatile.Write(ref carries, Base); // e.g. ICE moved to a relayed pair
        await RoundTripAsync(pair, 250_000);
        Assert.Equal(Base, pair.A.PathMtu);
    }

    [Fact]
    public async Task A_timeout_that_was_plain_loss_gives_the_probed_size_back_after_a_new_probe()
    {
        await using var pair = await SctpPair.ConnectAsync(mtu: Base, configure: Path(() => int.MaxValue));
        await Eventually.TrueAsync(() => pair.A.PathMtu == Limit, "A probes up to 16 KiB");
        var probes = pair.A.PathMtuProbesSent;
        var (onA, onB) = await pair.OpenAsync("loss");
        var got = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        onB.MessageReceived += (_, _, _) => got.TrySetResult();
        pair.Link.Blocked = true; // everything is lost for a while: T3 expires
        onA.Send(new byte[50_000]);
        await Eventually.TrueAsync(() => pair.A.PathMtu == Base, "A falls back to the base size on the timeout");
        pair.Link.Blocked = false;
        await got.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(() => pair.A.PathMtu == Limit, "a new probe restores 16 KiB");
        Assert.True(pair.A.PathMtuProbesSent > probes);
    }

    [Fact]
    public async Task Probing_can_be_turned_off()
    {
        var dropped = new ConcurrentBag<int>();
        var off = SctpPair.Fast();
        off.PathMtuDiscovery = false;
        await using var pair = await SctpPair.ConnectAsync(off, off, mtu: Base, configure: Path(() => Base, dropped));
        await RoundTripAsync(pair, 100_000); // positive control: traffic flowed; a path dropping anything larger lost nothing
        Assert.Equal(0, pair.A.PathMtuProbesSent);
        Assert.Equal(Base, pair.A.PathMtu);
        Assert.Empty(dropped);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}
