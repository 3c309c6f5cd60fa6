using System.Text.Json.Nodes;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.P2P.IntegrationTests;

/// <summary>
/// .NET peer connections across the NAT lab (the peer program in --pc mode, one process per home): a direct pair and a
/// TURN-relayed pair each carry 100 MiB on a reliable ordered channel, intact by SHA-256, while the kernel drops 5 % of
/// the UDP datagrams arriving in each home (iptables <c>statistic --mode random</c>; this kernel has no netem module).
/// </summary>
[Trait("Category", "NAT")]
public sealed class NatDataChannelTests(NatLabFixture fixture, ITestOutputHelper output) : IClassFixture<NatLabFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);
    private const int Megabytes = 100;

    [NatTheory]
    [InlineData("cone1", "cone2", false)]
    [InlineData("sym1", "sym2", true)]
    public async Task Hundred_megabytes_arrive_intact_through_five_percent_loss(string homeA, string homeB, bool relayed)
    {
        var lab = fixture.Lab!;
        var (result, a, b) = await NatPeers.ConnectPeerConnectionsAsync(lab, homeA, homeB, Timeout);
        using var peerA = a;
        using var peerB = b;
        Assert.True(result.Connected, $"not connected: {result.Failure}\n--- {homeA}\n{a.Log}\n--- {homeB}\n{b.Log}");
        Assert.Equal(relayed, result.Relayed);
        output.WriteLine($"{homeA} + {homeB}: {result.Kind} ({result.PairA}), setup {result.Milliseconds:0} ms");
        string[] homes = [lab.Homes[homeA].Namespace, lab.Homes[homeB].Namespace];
        try
        {
            foreach (var ns in homes) Shell.Check("ip", "netns", "exec", ns, "iptables", "-I", "INPUT", "-p", "udp", "-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP");
            var started = DateTime.UtcNow;
            a.Send(new JsonObject { ["cmd"] = "bulk", ["mb"] = Megabytes }.ToJsonString());
            var sent = await a.WaitForEventAsync(e => (string?)e["event"] is "bulk-sent" or "bulk-failed", TimeSpan.FromMinutes(8));
            var got = await b.WaitForEventAsync(e => (string?)e["event"] == "bulk", TimeSpan.FromMinutes(2));
            var seconds = (DateTime.UtcNow - started).TotalSeconds;
            Assert.Equal("bulk-sent", (string?)sent["event"]);
            Assert.Equal((long)Megabytes << 20, (long)got["bytes"]!);
            Assert.Equal((string?)sent["sha256"], (string?)got["sha256"]);
            // positive control: the rules really dropped datagrams, in both homes
            foreach (var ns in homes)
            {
                var dropped = DroppedPackets(ns);
                output.WriteLine($"{ns}: {dropped} datagrams dropped");
                Assert.True(dropped > 1000, $"the loss rule in {ns} dropped only {dropped} datagrams");
            }
            output.WriteLine($"{Megabytes} MiB in {seconds:0.0} s ({Megabytes * 8.0 * 1.048576 / seconds:0} Mbit/s) with 5 % loss each way, SHA-256 {got["sha256"]}");
        }
        finally
        {
            foreach (var ns in homes) _ = Shell.Run("ip", "netns", "exec", ns, "iptables", "-D", "INPUT", "-p", "udp", "-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP");
        }
    }

    private static long DroppedPackets(string ns)
    {
        // "-v -x -n -L INPUT": the first column of the DROP rule's line is its exact packet count
        var listing = Shell.Check("ip", "netns", "exec", ns, "iptables", "-L", "INPUT", "-v", "-x", "-n");
        var line = listing.Split('\n').First(l => l.Contains("DROP", StringComparison.Ordinal) && l.Contains("statistic", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}
