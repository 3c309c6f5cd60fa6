using System.Globalization;
using VirtualCluster.Simulator.Scenarios;

namespace VirtualCluster.Simulator.Engine;

/// <summary>One broken invariant, at a virtual time.</summary>
internal sealed record Violation(TimeSpan At, string Invariant, string Detail);

/// <summary>Placement quality at one virtual time, from the control plane's state.</summary>
internal sealed record QualitySample(TimeSpan At, int NodesAlive, int NodesUsed, int Desired, int Placed, int Running, double MeanCpuAllocated, double MeanMemoryAllocated, double MaxCpuAllocated);

/// <summary>A fault that hit one node.</summary>
internal sealed record FaultRecord(string Node, FaultKind Kind, TimeSpan At, TimeSpan For);

/// <summary>What followed a node's Down: when it was detected, its instances marked lost, replacements placed and running.</summary>
internal sealed class FailoverTimeline(string node, FaultKind? kind, TimeSpan? faultAt, TimeSpan downAt)
{
    public string Node { get; } = node;
    public FaultKind? Kind { get; } = kind;
    public TimeSpan? FaultAt { get; } = faultAt;
    public TimeSpan DownAt { get; } = downAt;
    public int Lost { get; set; }
    public int Placed { get; set; }
    public TimeSpan? LastPlaced { get; set; }
    public int Running { get; set; }
    public TimeSpan? LastRunning { get; set; }
}

/// <summary>An invariant with how often it was checked and what broke it.</summary>
internal sealed record InvariantResult(string Name, string Description, long Checks, IReadOnlyList<Violation> Violations)
{
    public bool Held => Violations.Count == 0;
}

/// <summary>Everything a run reports.</summary>
internal sealed record SimulationReport(
    SimulationSettings Settings,
    TimeSpan Wall,
    string Hash,
    long LogLines,
    long ControlPlaneEvents,
    IReadOnlyDictionary<string, long> EventKinds,
    IReadOnlyList<InvariantResult> Invariants,
    IReadOnlyList<QualitySample> Samples,
    IReadOnlyList<FaultRecord> Faults,
    IReadOnlyList<FailoverTimeline> Failovers,
    long StoreTransactions,
    long PeakInstances,
    long Heartbeats,
    IReadOnlyDictionary<string, TimeSpan> WallByPart)
{
    public bool AllHeld => Invariants.All(i => i.Held);

    public void Print(TextWriter o)
    {
        var s = Settings;
        o.WriteLine($"scenario {s.Name}: seed {s.Seed}, {s.Nodes.Count} nodes, {s.Services.Count} services ({s.Services.Sum(x => x.Spec.Replicas)} replicas), {Simulation.Words(s.Duration)} of virtual time");
        o.WriteLine($"wall time {Wall.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s; {Heartbeats} heartbeats; {StoreTransactions} store transactions; {ControlPlaneEvents} control-plane events; peak {PeakInstances} instances");
        o.WriteLine("  wall time by part: " + string.Join(", ", WallByPart.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s")));
        o.WriteLine();
        o.WriteLine("invariants:");
        foreach (var i in Invariants)
        {
            o.WriteLine($"  {(i.Held ? "held  " : "BROKEN")} {i.Name} ({i.Checks} checks): {i.Description}");
            foreach (var v in i.Violations.Take(5)) o.WriteLine($"         at {Stamp(v.At)}: {v.Detail}");
            if (i.Violations.Count > 5) o.WriteLine($"         ... and {i.Violations.Count - 5} more");
        }
        o.WriteLine();
        o.WriteLine("placement quality (control plane's state):");
        o.WriteLine("  time         alive  used  desired  placed  running  cpu-alloc  mem-alloc  max-cpu");
        var step = Math.Max(1, Samples.Count / 24);
        for (var k = 0; k < Samples.Count; k++)
        {
            if (k % step != 0 && k != Samples.Count - 1) continue;
            var q = Samples[k];
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {Stamp(q.At),-12} {q.NodesAlive,5} {q.NodesUsed,5} {q.Desired,8} {q.Placed,7} {q.Running,8} {q.MeanCpuAllocated,9:P1} {q.MeanMemoryAllocated,10:P1} {q.MaxCpuAllocated,8:P1}"));
        }
        o.WriteLine();
        o.WriteLine($"faults: {Faults.Count} node faults ({string.Join(", ", Faults.GroupBy(f => f.Kind).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}"))})");
        o.WriteLine($"failovers: {Failovers.Count} nodes declared down");
        if (Failovers.Count > 0)
        {
            o.WriteLine("  node          fault      down-after  lost  placed  placed-after  running  running-after");
            foreach (var f in Failovers.Take(20))
            {
                var from = f.FaultAt ?? f.DownAt;
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {f.Node,-13} {f.Kind?.ToString().ToLowerInvariant() ?? "-",-10} {Secs(f.DownAt - from),10} {f.Lost,5} {f.Placed,7} {Secs(f.LastPlaced - from),13} {f.Running,8} {Secs(f.LastRunning - from),14}"));
            }
            if (Failovers.Count > 20) o.WriteLine($"  ... and {Failovers.Count - 20} more");
            var detect = Failovers.Where(f => f.FaultAt is not null).Select(f => (f.DownAt - f.FaultAt!.Value).TotalSeconds).Order().ToList();
            var restore = Failovers.Where(f => f.FaultAt is not null && f.LastRunning is not null).Select(f => (f.LastRunning!.Value - f.FaultAt!.Value).TotalSeconds).Order().ToList();
            if (detect.Count > 0) o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  detection: median {detect[detect.Count / 2]:0.0} s, max {detect[^1]:0.0} s"));
            if (restore.Count > 0) o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  fault to last replacement running: median {restore[restore.Count / 2]:0.0} s, max {restore[^1]:0.0} s"));
        }
        o.WriteLine();
        o.WriteLine($"event log: {LogLines} lines, sha256 {Hash}");
    }

    internal static string Stamp(TimeSpan at) => at.ToString(@"d\.hh\:mm\:ss", CultureInfo.InvariantCulture);

    private static string Secs(TimeSpan? span) => span is { } s ? s.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "-";
}
