namespace VirtualCluster.Benchmarks.Scheduling;

/// <summary>Synthetic clusters and services for the throughput benchmarks; seeded, so every run sees the same input.</summary>
internal static class Workloads
{
    public const long Gi = 1L << 30;
    public const long Mi = 1L << 20;

    private static readonly (long Cpu, long Memory)[] Shapes = [(4000, 16 * Gi), (8000, 32 * Gi), (16000, 64 * Gi), (32000, 128 * Gi), (8000, 64 * Gi)];
    private static readonly string[] Zones = ["eu-1", "eu-2", "us-1"];

    /// <summary>
    /// Nodes of five shapes in three zones; a tenth have a "gpu" label and 2 GPUs, a fifth run docker too. Like the
    /// control plane's real input, each node lists host ports already in use (10-60 of its 1,000) and the services
    /// it runs (0-6 of 200 names that are not the benchmark's own).
    /// </summary>
    public static List<NodeCandidate> Cluster(int nodes, int seed = 42)
    {
        var random = new Random(seed);
        var result = new List<NodeCandidate>(nodes);
        for (var i = 0; i < nodes; i++)
        {
            var (cpu, memory) = Shapes[random.Next(Shapes.Length)];
            var gpu = i % 10 == 0;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["zone"] = Zones[i % Zones.Length], ["disk"] = i % 3 == 0 ? "ssd" : "hdd" };
            if (gpu) labels["gpu"] = "a100";
            var info = new NodeInfo($"id-{i:D5}", $"node-{i:D5}", "10.0.0.1", new Resources(cpu, memory, 500 * Gi, gpu ? 2 : 0),
                new ResourceUsage(0, random.Next(0, 4) * Gi, 0), i % 5 == 0 ? ["process", "docker"] : ["process"],
                new PortRange(20000, 20999), labels, NodeState.Alive, null);
            var ports = new HashSet<int>();
            for (var p = random.Next(10, 61); p > 0; p--) ports.Add(20000 + random.Next(1000));
            var services = Enumerable.Range(0, random.Next(0, 7)).Select(_ => $"app-{random.Next(200):D3}").ToList();
            result.Add(new NodeCandidate(info, default, ports, services));
        }
        return result;
    }

    /// <summary>
    /// Twenty services: many small, some large, memory- and CPU-heavy; some with constraints, affinity,
    /// required anti-affinity or topology spread, so every filter and scorer is exercised.
    /// </summary>
    public static List<ServiceSpec> Services(int seed = 7)
    {
        var random = new Random(seed);
        var specs = new List<ServiceSpec>();
        for (var s = 0; s < 20; s++)
        {
            var (cpu, memory) = (s % 4) switch
            {
                0 => (random.Next(100, 500), random.Next(64, 512) * Mi),      // small
                1 => (random.Next(250, 1000), random.Next(2, 8) * Gi),        // memory-heavy
                2 => (random.Next(1000, 4000), random.Next(256, 1024) * Mi),  // CPU-heavy
                _ => (random.Next(500, 2000), random.Next(1, 4) * Gi),        // mixed
            };
            var placement = new PlacementSpec(s % 7 == 3 ? new Dictionary<string, string> { ["zone"] = "eu-1" } : new Dictionary<string, string>())
            {
                Strategy = s % 5 == 4 ? PlacementStrategyNames.Spread : PlacementStrategyNames.BinPack,
                Affinity = s % 3 == 0 ? [new NodeAffinity("disk", "ssd", 50)] : [],
                AntiAffinity = s % 6 == 1 ? AntiAffinityMode.Required : AntiAffinityMode.Preferred,
                TopologySpread = s % 4 == 2 ? [new TopologySpread("zone", 1)] : [],
            };
            specs.Add(new ServiceSpec
            {
                Name = $"svc-{s:D2}",
                Driver = "process",
                Command = "run",
                Resources = new Resources(cpu, memory, s % 5 == 0 ? 10 * Gi : 0, s == 10 ? 1 : 0),
                Ports = s % 2 == 0 ? [new PortSpec("http")] : [],
                Placement = placement,
            });
        }
        return specs;
    }

    /// <summary>
    /// A state filled to roughly <paramref name="fill"/> of its CPU with instances of <paramref name="specs"/>, and the
    /// same cluster as the control plane would pass it per request: each node's reservations, ports in use and services.
    /// </summary>
    public static (ClusterState State, List<NodeCandidate> Candidates) Filled(PipelineScheduler scheduler, int nodes, IReadOnlyList<ServiceSpec> specs, double fill)
    {
        var cluster = Cluster(nodes);
        var state = scheduler.CreateState(cluster);
        var ports = new Dictionary<int, List<int>>();
        var services = new Dictionary<int, List<string>>();
        long capacity = 0;
        for (var i = 0; i < state.Count; i++) capacity += state.Capacity(i).CpuMillicores;
        long used = 0;
        var k = 0;
        var misses = 0;
        while (used < fill * capacity && misses < specs.Count)
        {
            var spec = specs[k++ % specs.Count];
            // GPU nodes are few; filling them would make every later GPU placement a failure.
            if (spec.Resources.Gpus > 0) { misses++; continue; }
            var context = scheduler.Pipeline.CreateContext(state, spec);
            if (scheduler.Pipeline.TrySelect(context, out var node, out _))
            {
                var assigned = state.Reserve(node, spec);
                (ports.TryGetValue(node, out var p) ? p : ports[node] = []).AddRange(assigned.Values);
                (services.TryGetValue(node, out var s) ? s : services[node] = []).Add(spec.Name);
                used += spec.Resources.CpuMillicores;
                misses = 0;
            }
            else
            {
                misses++;
            }
        }
        var byId = cluster.ToDictionary(c => c.Node.Id);
        var candidates = Enumerable.Range(0, state.Count).Select(i =>
        {
            var original = byId[state.Node(i).Id];
            return new NodeCandidate(state.Node(i), state.Allocated(i),
                new HashSet<int>([.. original.UsedPorts, .. ports.GetValueOrDefault(i) ?? []]),
                [.. original.Services, .. services.GetValueOrDefault(i) ?? []]);
        }).ToList();
        return (state, candidates);
    }
}
