using System.Globalization;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>One pair of homes, one stack: its connections, its transfer, and (.NET only) where setup time went.</summary>
internal sealed class NatLabRow(string homeA, string homeB, bool forcedRelay, string stack)
{
    public string HomeA { get; } = homeA;
    public string HomeB { get; } = homeB;
    public bool ForcedRelay { get; } = forcedRelay;
    public string Stack { get; } = stack;
    public List<PeerConnectionSetup> Setups { get; } = [];
    public List<Transfer> Transfers { get; } = [];

    /// <summary>The row's transfer figure: a failure if any transfer failed, else the median throughput and CPU, drops summed.</summary>
    public Transfer? Transfer => Transfers.Count == 0 ? null
        : Transfers.FirstOrDefault(t => t.Failure is not null) ?? new Transfer(Transfers.Sum(t => t.Bytes), Transfers.Sum(t => t.Seconds),
            NatLabReport.Median([.. Transfers.Select(t => t.Mbps)]), NatLabReport.Median([.. Transfers.Select(t => t.CpuPerGb)]), null,
            Transfers.Sum(t => t.CoturnDrops), Transfers.Sum(t => t.PeerDrops));

    /// <summary>"183" for one transfer, "183 (160-201)" for the median of several with their range.</summary>
    public string MbpsText => Transfer is not { Failure: null } t ? "-"
        : Transfers.Count == 1 ? t.Mbps.ToString("0", CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{t.Mbps:0} ({Transfers.Min(x => x.Mbps):0}-{Transfers.Max(x => x.Mbps):0})");
    public List<double[]> Phases { get; } = [];
    public List<(double, double)> Trickles { get; } = [];

    public List<PeerConnectionSetup> Connected => [.. Setups.Where(s => s.Connected)];
    public List<double> Times => [.. Connected.Select(s => s.Milliseconds)];
    public bool Relayed => Connected.Count > 0 && Connected.All(s => s.Relayed);
    public string Key => $"{HomeA}+{HomeB}{(ForcedRelay ? " forced" : "")}";
}

/// <summary>Prints the NAT-lab rows: one table with both stacks, the ratios .NET / node-datachannel, the summary lines.</summary>
internal sealed class NatLabReport(string loadAtStart)
{
    private readonly List<NatLabRow> _rows = [];

    public void Add(NatLabRow row) => _rows.Add(row);

    public void Print(NatLab lab, string loadAtEnd)
    {
        Console.WriteLine("| NAT A (offerer) | NAT B | path | stack | connected | selected pair (A's view) | setup median ms | min-max ms | Mbit/s | CPU s per GB | socket drops coturn / peers |");
        Console.WriteLine("|---|---|---|---|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in _rows)
        {
            var times = r.Times;
            var shape = r.Connected.GroupBy(x => Shape(x.PairA)).OrderByDescending(g => g.Count()).FirstOrDefault()?.Key ?? "-";
            var t = r.Transfer;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Name(lab.Homes[r.HomeA].Nat)} | {Name(lab.Homes[r.HomeB].Nat)} | {Path(r)} | {r.Stack} | {r.Connected.Count}/{r.Setups.Count} | {shape} | {Median(times):0} | {Min(times):0}-{Max(times):0} | {r.MbpsText} | {(t is null || t.Failure is not null ? "-" : t.CpuPerGb.ToString("0.0", CultureInfo.InvariantCulture))} | {(t is null ? "-" : $"{t.CoturnDrops} / {t.PeerDrops}")} |"));
        }

        var pairs = _rows.GroupBy(r => r.Key).Where(g => g.Any(r => r.Stack == ".NET") && g.Count() > 1).ToList();
        if (pairs.Count > 0)
        {
            Console.WriteLine("\nRatios .NET / node-datachannel, same pair, same run (setup: lower is better; throughput: higher is better; CPU per GB: lower is better):\n");
            Console.WriteLine("| NAT A (offerer) | NAT B | path | setup median | throughput | CPU s per GB |");
            Console.WriteLine("|---|---|---|---:|---:|---:|");
            foreach (var g in pairs)
            {
                var d = g.First(r => r.Stack == ".NET");
                var n = g.First(r => r.Stack != ".NET");
                var ok = d.Transfer is { Failure: null } && n.Transfer is { Failure: null };
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {Name(lab.Homes[d.HomeA].Nat)} | {Name(lab.Homes[d.HomeB].Nat)} | {Path(d)} | {Ratio(Median(d.Times), Median(n.Times))} | {(ok ? Ratio(d.Transfer!.Mbps, n.Transfer!.Mbps) : "-")} | {(ok ? Ratio(d.Transfer!.CpuPerGb, n.Transfer!.CpuPerGb) : "-")} |"));
            }
        }

        Console.WriteLine();
        foreach (var stack in _rows.Select(r => r.Stack).Distinct())
        {
            var rows = _rows.Where(r => r.Stack == stack).ToList();
            var direct = rows.Where(r => !r.Relayed).SelectMany(r => r.Times).ToList();
            var relayed = rows.Where(r => r.Relayed).SelectMany(r => r.Times).ToList();
            var mbpsDirect = rows.Where(r => !r.Relayed && r.Transfer is { Failure: null }).Select(r => r.Transfer!.Mbps).ToList();
            var mbpsRelayed = rows.Where(r => r.Relayed && r.Transfer is { Failure: null }).Select(r => r.Transfer!.Mbps).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{stack}: direct pairs setup median {Median(direct):0} ms over {direct.Count} connections, relayed {Median(relayed):0} ms over {relayed.Count}; throughput median {Median(mbpsDirect):0} Mbit/s direct, {Median(mbpsRelayed):0} relayed"));
        }
        Console.WriteLine($"load average {loadAtStart} at the start, {loadAtEnd} at the end ({Environment.ProcessorCount} cores)");
        var dotnet = _rows.Where(r => r.Stack == ".NET").ToList();
        SetupPhases.Print([.. dotnet.SelectMany(r => r.Phases)], [.. dotnet.SelectMany(r => r.Trickles)], "Where the .NET setup time goes on direct pairs");
    }

    private static string Path(NatLabRow r) =>
        r.Connected.Count == 0 ? "failed" : (r.Relayed ? "relayed (TURN)" : "direct") + (r.ForcedRelay ? ", relay forced" : "");

    private static string Ratio(double a, double b) =>
        double.IsNaN(a) || double.IsNaN(b) || b == 0 ? "-" : (a / b).ToString("0.00", CultureInfo.InvariantCulture);

    private static double Min(List<double> xs) => xs.Count == 0 ? double.NaN : xs.Min();
    private static double Max(List<double> xs) => xs.Count == 0 ? double.NaN : xs.Max();

    public static double Median(List<double> xs) => SetupPhases.Quantile([.. xs.Order()], 0.5);

    private static string Name(NatType nat) => nat switch
    {
        NatType.PortRestrictedCone => "port-restricted cone",
        NatType.FullCone => "full cone",
        _ => "symmetric",
    };

    // "srflx 203.0.113.11:40000 -> prflx 203.0.113.15:1234" -> "srflx -> prflx"
    private static string Shape(string pair) => string.Join(" -> ", pair.Split(" -> ").Select(side => side.Split(' ')[0]));
}
