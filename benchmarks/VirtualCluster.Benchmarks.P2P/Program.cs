using System.Globalization;
using System.Text;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;

// ICE connection time per NAT pair: median of N runs (default 10) on the NAT lab (network namespaces, iptables NAT,
// coturn), and which pairs went direct and which through the TURN relay. Needs root.
// Usage: dotnet run -c Release --project benchmarks/VirtualCluster.Benchmarks.P2P -- [--runs 10] [--out results.md]
//        [--pair sym1+sym2] [--show-failures] [--show-logs]
var runs = Arg("--runs") is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : 10;
var outPath = Arg("--out");
if (NatLab.UnavailableReason() is { } reason)
{
    Console.Error.WriteLine($"cannot run: {reason}");
    return 2;
}

(string A, string B)[] all = [("cone1", "cone2"), ("full1", "full2"), ("full1", "cone1"), ("sym1", "full1"), ("sym1", "cone1"), ("sym1", "sym2")];
var only = Arg("--pair");
var pairs = all.Where(p => only is null || $"{p.A}+{p.B}" == only).ToArray();
using var lab = await NatLab.CreateAsync(
[
    ("cone1", NatType.PortRestrictedCone), ("cone2", NatType.PortRestrictedCone),
    ("full1", NatType.FullCone), ("full2", NatType.FullCone),
    ("sym1", NatType.Symmetric), ("sym2", NatType.Symmetric),
]);
Console.CancelKeyPress += (_, _) => lab.Dispose();

var table = new StringBuilder();
table.AppendLine(CultureInfo.InvariantCulture, $"| NAT A (controlling) | NAT B | connected | path | selected pair (A's view) | median ms | min ms | max ms |");
table.AppendLine("|---|---|---|---|---|---:|---:|---:|");
foreach (var (homeA, homeB) in pairs)
{
    var results = new List<NatConnection>();
    for (var i = 0; i < runs; i++)
    {
        var (result, a, b) = await NatPeers.ConnectAsync(lab, homeA, homeB, TimeSpan.FromSeconds(45));
        if ((!result.Connected && args.Contains("--show-failures")) || args.Contains("--show-logs")) Console.Error.WriteLine($"--- {homeA}\n{a.Log}\n--- {homeB}\n{b.Log}");
        a.Dispose();
        b.Dispose();
        results.Add(result);
        Console.Error.WriteLine($"{homeA}+{homeB} run {i + 1}: {result.Kind} in {result.MillisecondsA} ms ({result.PairA})");
    }
    var ok = results.Where(x => x.Connected).ToList();
    var times = ok.Select(x => x.MillisecondsA).Order().ToList();
    var median = times.Count == 0 ? double.NaN : times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2.0;
    var kinds = string.Join(", ", ok.Select(x => x.Kind).Distinct());
    var typical = ok.GroupBy(x => Shape(x.PairA)).OrderByDescending(g => g.Count()).FirstOrDefault()?.Key ?? "-";
    table.AppendLine(CultureInfo.InvariantCulture,
        $"| {Name(lab.Homes[homeA].Nat)} | {Name(lab.Homes[homeB].Nat)} | {ok.Count}/{runs} | {kinds} | {typical} | {median:0} | {(times.Count > 0 ? times[0] : 0)} | {(times.Count > 0 ? times[^1] : 0)} |");
}
Console.WriteLine(table);
if (outPath is not null) await File.WriteAllTextAsync(outPath, table.ToString());
return 0;

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static string Name(NatType nat) => nat switch
{
    NatType.PortRestrictedCone => "port-restricted cone",
    NatType.FullCone => "full cone",
    _ => "symmetric",
};

// "srflx 203.0.113.11:40000 -> prflx 203.0.113.15:1234" -> "srflx -> prflx"
static string Shape(string pair) => string.Join(" -> ", pair.Split(" -> ").Select(side => side.Split(' ')[0]));
