using System.Globalization;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>
/// Peer-connection setup across the NAT lab (root only): for each pair of homes, <c>runs</c> connections of the peer
/// program in --pc mode (ICE + DTLS + SCTP + DCEP), from the offerer's start to the answerer's first message. Process
/// start-up is not counted (both peers are up and idle before "start").
/// </summary>
internal static class NatLabSetup
{
    private static readonly (string A, string B)[] Pairs =
        [("cone1", "cone2"), ("full1", "full2"), ("full1", "cone1"), ("sym1", "full1"), ("sym1", "cone1"), ("sym1", "sym2")];

    public static async Task<int> RunAsync(int runs, string? only, bool showLogs, bool warmUp, string[] peerArgs)
    {
        if (NatLab.UnavailableReason() is { } reason)
        {
            Console.Error.WriteLine($"NAT lab unavailable: {reason}");
            return 2;
        }
        using var lab = await NatLab.CreateAsync(
        [
            ("cone1", NatType.PortRestrictedCone), ("cone2", NatType.PortRestrictedCone),
            ("full1", NatType.FullCone), ("full2", NatType.FullCone),
            ("sym1", NatType.Symmetric), ("sym2", NatType.Symmetric),
        ]);
        Console.CancelKeyPress += (_, _) => lab.Dispose();
        Console.WriteLine("| NAT A (offerer) | NAT B | connected | path | selected pair (A's view) | setup median ms | min-max ms | A: ICE connected, median ms |");
        Console.WriteLine("|---|---|---|---|---|---:|---:|---:|");
        var direct = new List<double>();
        var relayed = new List<double>();
        var directPhases = new List<double[]>();
        var trickles = new List<(double, double)>();
        var loadBefore = LoadAverage();
        foreach (var (homeA, homeB) in Pairs.Where(p => only is null || $"{p.A}+{p.B}" == only))
        {
            var results = new List<PeerConnectionSetup>();
            for (var i = 0; i < runs; i++)
            {
                var (result, a, b) = await NatPeers.ConnectPeerConnectionsAsync(lab, homeA, homeB, TimeSpan.FromSeconds(45), warmUp, peerArgs);
                if (showLogs || !result.Connected) Console.Error.WriteLine($"--- {homeA}\n{a.Log}\n--- {homeB}\n{b.Log}");
                if (result.Connected && !result.Relayed && SetupPhases.Of(a, b) is { } phases)
                {
                    directPhases.Add(phases);
                    Console.Error.WriteLine("  phases ms: " + string.Join(", ", phases.Select(x => x.ToString("0", CultureInfo.InvariantCulture))));
                }
                if (result.Connected && !result.Relayed && SetupPhases.SrflxTrickle(a, b) is { } trickle) trickles.Add(trickle);
                a.Dispose();
                b.Dispose();
                results.Add(result);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{homeA}+{homeB} run {i + 1}: {result.Kind} in {result.Milliseconds:0} ms (A: ICE {result.IceMillisecondsA} ms, SCTP up {result.ConnectedMillisecondsA} ms) {result.PairA} {result.Failure}"));
            }
            var ok = results.Where(x => x.Connected).ToList();
            var times = ok.Select(x => x.Milliseconds).ToList();
            (ok.All(x => !x.Relayed) ? direct : relayed).AddRange(times);
            var shape = ok.GroupBy(x => Shape(x.PairA)).OrderByDescending(g => g.Count()).FirstOrDefault()?.Key ?? "-";
            var kinds = string.Join(", ", ok.Select(x => x.Kind).Distinct());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Name(lab.Homes[homeA].Nat)} | {Name(lab.Homes[homeB].Nat)} | {ok.Count}/{runs} | {kinds} | {shape} | {Median(times):0} | {(times.Count > 0 ? times.Min() : 0):0}-{(times.Count > 0 ? times.Max() : 0):0} | {Median(ok.Select(x => (double)x.IceMillisecondsA).ToList()):0} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"\nall direct pairs: median {Median(direct):0} ms over {direct.Count} connections; all relayed pairs: median {Median(relayed):0} ms over {relayed.Count}; load average {loadBefore} at the start, {LoadAverage()} at the end ({Environment.ProcessorCount} cores)"));
        SetupPhases.Print(directPhases, trickles, "Where the time goes on direct pairs");
        return 0;
    }

    // the 1-minute load average, to print beside the figures (the machine is shared)
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static string Name(NatType nat) => nat switch
    {
        NatType.PortRestrictedCone => "port-restricted cone",
        NatType.FullCone => "full cone",
        _ => "symmetric",
    };

    // "srflx 203.0.113.11:40000 -> prflx 203.0.113.15:1234" -> "srflx -> prflx"
    private static string Shape(string pair) => string.Join(" -> ", pair.Split(" -> ").Select(side => side.Split(' ')[0]));
}
