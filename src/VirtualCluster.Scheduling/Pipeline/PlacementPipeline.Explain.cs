using System.Globalization;

namespace VirtualCluster.Scheduling;

public sealed partial class PlacementPipeline
{
    private static readonly string[] ResourceDimensions =
        [ResourceFilter.Cpu, ResourceFilter.Memory, ResourceFilter.Disk, ResourceFilter.Gpus, PortFilter.Ports];

    /// <summary>
    /// Explains where one more instance would go: how many nodes each filter removed (per dimension), then the
    /// best <paramref name="top"/> feasible nodes with each scorer's score; or, when none is feasible, why.
    /// Slower than <see cref="TrySelect"/> (it allocates); meant for users, not for the placement loop.
    /// </summary>
    public PlacementExplanation Explain(PlacementContext context, int top)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (outcomes, remaining) = RunAllFilters(context);
        var ranking = remaining.Count == 0 ? [] : Rank(context, top);
        var failure = remaining.Count == 0 ? DescribeFailure(context, outcomes, 1, 0) : null;
        return new PlacementExplanation(context.Strategy.Name, context.Cluster.Count, remaining.Count, outcomes, ranking, failure);
    }

    /// <summary>
    /// Why the next instance does not fit: per filter and dimension how many nodes were removed, the largest free
    /// amount of each resource that ran out, and the closest fit.
    /// </summary>
    /// <param name="context">The context on the state where placement stopped.</param>
    /// <param name="requested">Instances asked for.</param>
    /// <param name="placed">Instances that did fit before this one.</param>
    public PlacementFailure ExplainFailure(PlacementContext context, int requested, int placed)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (outcomes, _) = RunAllFilters(context);
        return DescribeFailure(context, outcomes, requested, placed);
    }

    /// <summary>The failure for an empty cluster.</summary>
    public static PlacementFailure NoNodes() => new(
        "no nodes have joined the cluster; start an agent on each machine with the cluster's join token", 0, [], [], null);

    /// <summary>Every filter on every node, in order; a node is counted by the first filter that removes it.</summary>
    private (List<FilterOutcome> Outcomes, List<int> Remaining) RunAllFilters(PlacementContext context)
    {
        var remaining = Enumerable.Range(0, context.Cluster.Count).ToList();
        var outcomes = new List<FilterOutcome>();
        var reasons = new List<string>();
        foreach (var filter in Filters)
        {
            if (!filter.AppliesTo(context)) continue;
            var buffer = remaining.ToArray();
            var kept = filter.Filter(context, buffer);
            var passed = new HashSet<int>(buffer.Take(kept));
            var byDimension = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var node in remaining)
            {
                if (passed.Contains(node)) continue;
                reasons.Clear();
                filter.Explain(context, node, reasons);
                if (reasons.Count == 0) reasons.Add(filter.Name);
                foreach (var reason in reasons.Distinct()) byDimension[reason] = byDimension.GetValueOrDefault(reason) + 1;
            }
            outcomes.Add(new FilterOutcome(filter.Name, remaining.Count - kept, byDimension));
            remaining = [.. buffer.Take(kept)];
        }
        return (outcomes, remaining);
    }

    private PlacementFailure DescribeFailure(PlacementContext context, List<FilterOutcome> outcomes, int requested, int placed)
    {
        var cluster = context.Cluster;
        if (cluster.Count == 0) return NoNodes();
        var spec = context.Spec;
        var candidates = context.Entry.Nodes;
        var shortfalls = new List<ResourceShortfall>();
        var parts = new List<(int Count, string Text)>();
        foreach (var outcome in outcomes.Where(o => o.Removed > 0))
        {
            foreach (var (dimension, count) in outcome.ByDimension)
            {
                if (ResourceDimensions.Contains(dimension))
                {
                    var (largest, node) = LargestFree(cluster, candidates, dimension);
                    var need = Amount(spec, dimension);
                    shortfalls.Add(new ResourceShortfall(dimension, need, largest, node, count));
                    parts.Add((count, $"{dimension} exhausted on {Nodes(count, cluster.Count)} (needs {Format(dimension, need)}, largest free {Format(dimension, largest)} on {node ?? "none"})"));
                }
                else
                {
                    parts.Add((count, $"{dimension} on {Nodes(count, cluster.Count)}"));
                }
            }
            foreach (var group in outcome.ByDimension.Where(d => !ResourceDimensions.Contains(d.Key)).GroupBy(d => Group(d.Key)))
                shortfalls.Add(new ResourceShortfall(group.Key, 0, 0, null, Math.Min(outcome.Removed, group.Sum(g => g.Value))));
        }
        var closest = ClosestFit(context);
        var why = string.Join(", ", parts.OrderByDescending(p => p.Count).Select(p => p.Text));
        if (why.Length == 0) why = "no node passed the filters";
        var partial = placed > 0 ? $"only {placed} of {requested} instances fit; " : "";
        var near = closest is null ? "" : $"; closest fit {closest.NodeName} lacks "
            + string.Join(" and ", closest.Missing.Select(m => $"{Format(m.Key, m.Value)} {m.Key}"));
        var message = $"cannot place {requested} instance(s) of \"{spec.Name}\" on {cluster.Count} node(s): {partial}{why}{near}";
        return new PlacementFailure(message, cluster.Count, shortfalls, outcomes, closest);
    }

    /// <summary>
    /// Among nodes that pass every non-resource filter, the one needing the least extra capacity: smallest
    /// Σ_d max(0, need_d − free_d) / capacity_d over cpu, memory, disk and GPUs (ports count as one node-share each).
    /// </summary>
    private ClosestFit? ClosestFit(PlacementContext context)
    {
        var cluster = context.Cluster;
        var candidates = context.Entry.Nodes.ToArray();
        var count = candidates.Length;
        foreach (var filter in _dynamic)
        {
            if (filter is ResourceFilter or PortFilter || !filter.AppliesTo(context)) continue;
            count = filter.Filter(context, candidates.AsSpan(0, count));
        }
        var demand = context.Demand;
        (int Node, double Gap)? best = null;
        for (var k = 0; k < count; k++)
        {
            var i = candidates[k];
            var free = cluster.Free(i);
            var cap = cluster.Capacity(i);
            var gap = Gap(demand.CpuMillicores, free.CpuMillicores, cap.CpuMillicores)
                + Gap(demand.MemoryBytes, free.MemoryBytes, cap.MemoryBytes)
                + Gap(demand.DiskBytes, free.DiskBytes, cap.DiskBytes)
                + Gap(demand.Gpus, free.Gpus, cap.Gpus)
                + (cluster.FreePorts[i] < context.PortsNeeded ? 1 : 0);
            if (gap > 0 && (best is null || gap < best.Value.Gap)) best = (i, gap);
        }
        if (best is null) return null;
        var node = best.Value.Node;
        var f = cluster.Free(node);
        var missing = new Dictionary<string, long>(StringComparer.Ordinal);
        void Add(string name, long need, long have)
        {
            if (need > have) missing[name] = need - Math.Max(0, have);
        }
        Add(ResourceFilter.Cpu, demand.CpuMillicores, f.CpuMillicores);
        Add(ResourceFilter.Memory, demand.MemoryBytes, f.MemoryBytes);
        Add(ResourceFilter.Disk, demand.DiskBytes, f.DiskBytes);
        Add(ResourceFilter.Gpus, demand.Gpus, f.Gpus);
        Add(PortFilter.Ports, context.PortsNeeded, cluster.FreePorts[node]);
        var info = cluster.Node(node);
        return new ClosestFit(info.Id, info.Name, missing);
    }

    private static double Gap(long need, long free, long capacity) =>
        need <= free ? 0 : (need - Math.Max(0, free)) / (double)Math.Max(1, Math.Max(capacity, need));

    private static (long Largest, string? Node) LargestFree(ClusterState cluster, int[] nodes, string dimension)
    {
        long largest = long.MinValue;
        string? name = null;
        foreach (var i in nodes)
        {
            var free = dimension == PortFilter.Ports ? cluster.FreePorts[i] : Pick(cluster.Free(i), dimension);
            // Ties go to the first name: nodes are in name order.
            if (free > largest)
            {
                largest = free;
                name = cluster.Node(i).Name;
            }
        }
        return name is null ? (0, null) : (Math.Max(0, largest), name);
    }

    private static long Pick(Resources r, string dimension) => dimension switch
    {
        ResourceFilter.Cpu => r.CpuMillicores,
        ResourceFilter.Memory => r.MemoryBytes,
        ResourceFilter.Disk => r.DiskBytes,
        _ => r.Gpus,
    };

    private static long Amount(ServiceSpec spec, string dimension) =>
        dimension == PortFilter.Ports ? spec.Ports.Count : Pick(spec.Resources, dimension);

    private static string Format(string dimension, long amount) => dimension switch
    {
        ResourceFilter.Cpu => Quantity.FormatCpu(amount),
        ResourceFilter.Memory or ResourceFilter.Disk => Quantity.FormatBytes(amount),
        _ => amount.ToString(CultureInfo.InvariantCulture),
    };

    private static string Nodes(int count, int total) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} of {total} {(total == 1 ? "node" : "nodes")}");

    /// <summary>"constraint zone=eu" → "constraint", "state down" → "state": the shortfall table's coarse names.</summary>
    private static string Group(string dimension)
    {
        var space = dimension.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? dimension : dimension[..space];
    }
}
