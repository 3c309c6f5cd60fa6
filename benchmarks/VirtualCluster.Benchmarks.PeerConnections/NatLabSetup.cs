using System.Globalization;
using System.Runtime.InteropServices;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>What <c>--nat</c> runs (see Program.cs for the command line).</summary>
/// <param name="Runs">Connections per pair and stack (setup times).</param>
/// <param name="Pair">"cone1+cone2": that pair only (and its forced-relay row when it is in <paramref name="RelayPairs"/>).</param>
/// <param name="Mb">MiB carried once per pair and stack on the first connection that worked; 0: no transfer.</param>
/// <param name="RelayPairs">Pairs measured a second time with TURN forced (both peers relay-only).</param>
/// <param name="Node">Also node-datachannel against node-datachannel, in the same run.</param>
/// <param name="Transfers">Transfers per pair and stack, on the first connections that work; the row shows their median.</param>
internal sealed record NatLabOptions(int Runs, string? Pair, bool ShowLogs, bool WarmUp, string[] PeerArgs, int Mb, string[] RelayPairs, bool Node, int Transfers = 1);

/// <summary>
/// Data channels across the NAT lab (root only): for each pair of homes, <c>Runs</c> connections of .NET peers (the
/// peer program's --pc mode: ICE + DTLS + SCTP + DCEP) and, in the same run, of node-datachannel peers
/// (tests/interop/node/nat-peer.mjs), each from the offerer's start to the answerer's first message; then one transfer
/// of <c>Mb</c> MiB in 64 KiB messages per pair and stack, with both processes' CPU seconds per GB. Process start-up is
/// not counted (both peers are up and idle before "start"). The lab, its processes and namespaces are removed at the
/// end, on failure and on Ctrl-C.
/// </summary>
internal static class NatLabSetup
{
    private static readonly (string A, string B)[] Pairs =
        [("cone1", "cone2"), ("full1", "full2"), ("full1", "cone1"), ("sym1", "full1"), ("sym1", "cone1"), ("sym1", "sym2")];

    public static async Task<int> RunAsync(NatLabOptions options)
    {
        if (NatLab.UnavailableReason() is { } reason)
        {
            Console.Error.WriteLine($"NAT lab unavailable: {reason}");
            return 2;
        }
        var nodeFolder = Path.Combine(BuiltPrograms.Root, "tests", "interop", "node");
        if (options.Node && NodeUnavailable(nodeFolder) is { } why)
        {
            Console.Error.WriteLine($"node-datachannel unavailable: {why} (or run with --no-node for the .NET rows only)");
            return 2;
        }
        var configs = Pairs.Where(p => options.Pair is null || $"{p.A}+{p.B}" == options.Pair).Select(p => (p.A, p.B, Forced: false))
            .Concat(Pairs.Where(p => options.RelayPairs.Contains($"{p.A}+{p.B}") && (options.Pair is null || $"{p.A}+{p.B}" == options.Pair))
                .Select(p => (p.A, p.B, Forced: true)))
            .ToList();
        if (configs.Count == 0)
        {
            Console.Error.WriteLine($"--pair {options.Pair}: no such pair; one of {string.Join(", ", Pairs.Select(p => $"{p.A}+{p.B}"))}");
            return 2;
        }

        using var lab = await NatLab.CreateAsync(
        [
            ("cone1", NatType.PortRestrictedCone), ("cone2", NatType.PortRestrictedCone),
            ("full1", NatType.FullCone), ("full2", NatType.FullCone),
            ("sym1", NatType.Symmetric), ("sym2", NatType.Symmetric),
        ]);
        // Ctrl-C, SIGTERM (timeout, kill), SIGHUP: kill every process in the lab's namespaces and delete them, then end
        // a second signal (timeout signals the process and then its group) waits for the first cleanup to finish
        var gate = new object();
        var disposed = false;
        void Cleanup()
        {
            lock (gate)
            {
                if (!disposed) lab.Dispose();
                disposed = true;
            }
        }
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // the default would end the process before the lab is gone
            Console.Error.WriteLine($"{context.Signal}: removing the NAT lab");
            Cleanup();
            Environment.Exit(130);
        }
        using var signals = new CompositeDisposable(
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal));
        try
        {
            var report = new NatLabReport(LoadAverage());
            foreach (var (homeA, homeB, forced) in configs)
            {
                string[] more = forced ? [.. options.PeerArgs, "--relay-only"] : options.PeerArgs;
                foreach (var node in options.Node ? new[] { false, true } : [false])
                    report.Add(await MeasureAsync(lab, homeA, homeB, forced, node ? nodeFolder : null, options, more));
            }
            report.Print(lab, LoadAverage());
            return 0;
        }
        finally
        {
            Cleanup();
        }
    }

    private static async Task<NatLabRow> MeasureAsync(NatLab lab, string homeA, string homeB, bool forced, string? nodeFolder, NatLabOptions options, string[] more)
    {
        var stack = nodeFolder is null ? ".NET" : "node-datachannel";
        var row = new NatLabRow(homeA, homeB, forced, stack);
        for (var i = 0; i < options.Runs; i++)
        {
            PeerProcess? a = null, b = null;
            try
            {
                (var result, a, b) = await NatPeers.ConnectPeerConnectionsAsync(lab, homeA, homeB, TimeSpan.FromSeconds(45), nodeFolder, options.WarmUp, more);
                row.Setups.Add(result);
                if (options.ShowLogs || !result.Connected) Console.Error.WriteLine($"--- {homeA}\n{a.Log}\n--- {homeB}\n{b.Log}");
                if (nodeFolder is null && result.Connected && !result.Relayed && SetupPhases.Of(a, b) is { } phases) row.Phases.Add(phases);
                if (nodeFolder is null && result.Connected && !result.Relayed && SetupPhases.SrflxTrickle(a, b) is { } trickle) row.Trickles.Add(trickle);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{stack} {homeA}+{homeB}{(forced ? " (TURN forced)" : "")} run {i + 1}: {result.Kind} in {result.Milliseconds:0} ms {result.PairA} {result.Failure}"));
                if (result.Connected && options.Mb > 0 && row.Transfers.Count < options.Transfers)
                {
                    // datagrams the kernel dropped for want of socket buffer during the transfer: at coturn (the public
                    // namespace) and at each peer; loss there, not CPU, is what limits a relayed transfer
                    var namespaces = new[] { lab.PublicNamespace, lab.Homes[homeA].Namespace, lab.Homes[homeB].Namespace };
                    var drops0 = namespaces.Select(UdpReceiveBufferErrors).ToArray();
                    var transfer = await Transfer.RunAsync(a, b, options.Mb, nodeFolder is null ? System.Diagnostics.Stopwatch.Frequency : 1e9);
                    var drops = namespaces.Select((ns, k) => UdpReceiveBufferErrors(ns) - drops0[k]).ToArray();
                    transfer = transfer with { CoturnDrops = drops[0], PeerDrops = drops[1] + drops[2] };
                    row.Transfers.Add(transfer);
                    Console.Error.WriteLine($"  UDP receive-buffer drops: coturn {drops[0]}, {homeA} {drops[1]}, {homeB} {drops[2]}");
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{stack} {homeA}+{homeB} transfer: {transfer.Bytes} bytes in {transfer.Seconds:0.00} s, {transfer.Mbps:0} Mbit/s, {transfer.CpuPerGb:0.0} CPU s per GB {transfer.Failure} (load {LoadAverage()})"));
                    if (transfer.Failure is not null || options.ShowLogs) Console.Error.WriteLine($"--- {homeA}\n{a.Log}\n--- {homeB}\n{b.Log}");
                }
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or System.Text.Json.JsonException)
            {
                // one broken connection (a peer that crashed or hung) is a failed run, not the end of the benchmark
                row.Setups.Add(new PeerConnectionSetup(homeA, homeB, false, false, "", -1, -1, -1, e.Message.Split('\n')[0]));
                Console.Error.WriteLine($"{stack} {homeA}+{homeB} run {i + 1}: failed: {e.Message.Split('\n')[0]}");
                // the exception's message ends with the waiting peer's log; the other's is known only once both are here
                Console.Error.WriteLine(a is not null && b is not null ? $"--- {homeA}\n{a.Log}\n--- {homeB}\n{b.Log}" : e.Message);
            }
            finally
            {
                a?.Dispose();
                b?.Dispose();
            }
        }
        return row;
    }

    private static string? NodeUnavailable(string folder)
    {
        if (!Shell.Exists("node")) return "node is not installed: run scripts/install-p2p-deps.sh as root";
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "node-datachannel")))
            return "node-datachannel is not installed: run scripts/install-p2p-deps.sh (npm ci in tests/interop/node)";
        return null;
    }

    /// <summary>The Udp RcvbufErrors counter of a namespace (/proc/net/snmp): datagrams dropped because a socket's receive buffer was full.</summary>
    private static long UdpReceiveBufferErrors(string netns)
    {
        var (code, output) = Shell.Run("ip", "netns", "exec", netns, "cat", "/proc/net/snmp");
        if (code != 0) return 0;
        var lines = output.Split('\n');
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            if (!lines[i].StartsWith("Udp: ", StringComparison.Ordinal) || !lines[i + 1].StartsWith("Udp: ", StringComparison.Ordinal)) continue;
            var names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var k = Array.IndexOf(names, "RcvbufErrors");
            return k > 0 && k < values.Length && long.TryParse(values[k], CultureInfo.InvariantCulture, out var n) ? n : 0;
        }
        return 0;
    }

    // the 1-minute load average, to print beside the figures (the machine is shared)
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}

/// <summary>Disposes several registrations together.</summary>
internal sealed class CompositeDisposable(params IDisposable[] items) : IDisposable
{
    public void Dispose()
    {
        foreach (var item in items) item.Dispose();
    }
}
