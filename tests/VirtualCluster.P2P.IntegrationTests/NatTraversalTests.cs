using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.P2P.IntegrationTests;

/// <summary>
/// ICE through real Linux NATs: every pair of NAT types, two peer processes in their own home namespaces, coturn in
/// the public one. Cone with cone goes direct; symmetric with full cone goes direct through a peer-reflexive candidate;
/// symmetric with port-restricted cone or symmetric needs the TURN relay. Every pair connects and carries data both ways.
/// </summary>
[Trait("Category", "NAT")]
public sealed class NatTraversalTests(NatLabFixture fixture, ITestOutputHelper output) : IClassFixture<NatLabFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);

    public static TheoryData<string, string, bool> Pairs => new()
    {
        { "cone1", "cone2", false },
        { "full1", "full2", false },
        { "full1", "cone1", false },
        { "sym1", "full1", false },
        { "sym1", "cone1", true },
        { "sym1", "sym2", true },
    };

    [NatTheory]
    [MemberData(nameof(Pairs))]
    public async Task Peers_behind_NATs_connect_and_exchange_data(string homeA, string homeB, bool expectRelayed)
    {
        var lab = fixture.Lab!;
        var (result, a, b) = await NatPeers.ConnectAsync(lab, homeA, homeB, Timeout);
        using var _ = a;
        using var __ = b;
        output.WriteLine($"{lab.Homes[homeA].Nat} ({homeA}) + {lab.Homes[homeB].Nat} ({homeB}): {result.Kind}, {result.WallMilliseconds} ms");
        output.WriteLine($"  {homeA}: {result.PairA}");
        output.WriteLine($"  {homeB}: {result.PairB}");
        Assert.True(result.Connected, $"not connected:\n--- {homeA}\n{a.Log}\n--- {homeB}\n{b.Log}\n--- coturn (last lines)\n{Tail(lab.Coturn.Log, 40)}");
        Assert.True(expectRelayed == result.Relayed, $"expected {(expectRelayed ? "relayed" : "direct")}, got {result.Kind}: {result.PairA} / {result.PairB}");
        if (lab.Homes[homeA].Nat == NatType.Symmetric && !expectRelayed)
            Assert.StartsWith("prflx", result.PairB.Split("-> ")[1]); // the cone side learned the symmetric side's new mapping from its check

        a.SendData($"hello from {homeA}");
        b.SendData($"hello from {homeB}");
        await b.WaitForEventAsync(e => (string?)e["event"] == "data" && (string?)e["text"] == $"hello from {homeA}", TimeSpan.FromSeconds(10));
        await a.WaitForEventAsync(e => (string?)e["event"] == "data" && (string?)e["text"] == $"hello from {homeB}", TimeSpan.FromSeconds(10));
    }

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));

    [NatTheory]
    [InlineData("full1")]
    public void The_lab_is_contained_in_its_own_namespaces(string home)
    {
        var lab = fixture.Lab!;
        var namespaces = Shell.Check("ip", "netns", "list");
        Assert.Contains(lab.Homes[home].Namespace, namespaces);
        // the home host reaches only its router and the public network: no interface of the root namespace is involved
        var routes = Shell.Check("ip", "-n", lab.Homes[home].Namespace, "route");
        Assert.Contains($"default via 10.77.", routes);
        var rules = Shell.Check("ip", "netns", "exec", lab.Homes[home].RouterNamespace, "iptables", "-t", "nat", "-S");
        Assert.Contains("MASQUERADE", rules);
        Assert.Contains("DNAT", rules);
    }
}
