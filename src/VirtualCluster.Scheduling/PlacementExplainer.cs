using System.Globalization;

namespace VirtualCluster.Scheduling;

/// <summary>
/// Explains why no node can take the next instance: which filters removed how many nodes, and for each
/// resource the most any one node has free, so the user knows what to free up or add.
/// </summary>
internal sealed class PlacementExplainer
{
    private const int NamesShown = 3;

    private readonly int total;
    private readonly List<ResourceShortfall> shortfalls = [];
    private readonly List<string> reasons = [];

    private PlacementExplainer(int total) => this.total = total;

    public static PlacementFailure NoNodes() => new(
        "no nodes have joined the cluster; start an agent on each machine with the cluster's join token",
        0,
        []);

    /// <param name="request">The request that did not fit.</param>
    /// <param name="slots">Every node, with the instances placed so far already reserved.</param>
    /// <param name="placed">How many instances did fit before the one that did not.</param>
    public static PlacementFailure Explain(PlacementRequest request, IReadOnlyList<NodeSlot> slots, int placed)
    {
        var spec = request.Spec;
        var explainer = new PlacementExplainer(slots.Count);

        // Non-resource filters run in order; a node is counted only by the first one it fails.
        var remaining = slots.ToList();
        remaining = explainer.Filter(remaining, NodeFilters.IsAlive, "state",
            lacking => $"are not alive ({Names(lacking, s => $"{s.Name} is {s.Node.State.ToString().ToLowerInvariant()}")})");
        remaining = explainer.Filter(remaining, s => NodeFilters.HasDriver(s, spec), "driver",
            lacking => $"cannot run driver \"{spec.Driver}\" ({Names(lacking, s => s.Name)})");
        remaining = explainer.Filter(remaining, s => NodeFilters.MatchesConstraints(s, spec), "constraint",
            lacking => $"do not have the labels {Constraints(spec)} ({Names(lacking, s => s.Name)})");

        // Resources are checked on every node that passed the filters above, each dimension on its own,
        // so a node short of both CPU and memory shows up under both.
        var need = spec.Resources;
        explainer.Resource(remaining, "cpu", need.CpuMillicores, s => s.Free.CpuMillicores, Quantity.FormatCpu, "cpu");
        explainer.Resource(remaining, "memory", need.MemoryBytes, s => s.Free.MemoryBytes, Quantity.FormatBytes, "memory");
        explainer.Resource(remaining, "disk", need.DiskBytes, s => s.Free.DiskBytes, Quantity.FormatBytes, "disk");
        explainer.Resource(remaining, "ports", spec.Ports.Count, s => s.FreePorts, Ports, "free ports");

        var partial = placed > 0 ? $"only {placed} of {request.Count} instances fit; " : "";
        var message = $"cannot place {request.Count} instance(s) of \"{spec.Name}\": {partial}{string.Join("; ", explainer.reasons)}";
        return new PlacementFailure(message, slots.Count, explainer.shortfalls);
    }

    private List<NodeSlot> Filter(List<NodeSlot> nodes, Func<NodeSlot, bool> passes, string dimension, Func<List<NodeSlot>, string> describe)
    {
        var lacking = nodes.Where(s => !passes(s)).ToList();
        if (lacking.Count > 0)
        {
            shortfalls.Add(new ResourceShortfall(dimension, 0, 0, null, lacking.Count));
            reasons.Add($"{dimension}: {lacking.Count} of {total} nodes {describe(lacking)}");
        }
        return nodes.Where(passes).ToList();
    }

    private void Resource(List<NodeSlot> nodes, string dimension, long requested, Func<NodeSlot, long> free, Func<long, string> format, string noun)
    {
        var lacking = nodes.Count(s => free(s) < requested);
        if (lacking == 0) return;
        // The node with the most free; ties go to the first name so the message is stable.
        var largest = nodes.OrderByDescending(free).ThenBy(s => s.Name, StringComparer.Ordinal).First();
        var largestFree = Math.Max(0, free(largest));
        shortfalls.Add(new ResourceShortfall(dimension, requested, largestFree, largest.Name, lacking));
        reasons.Add($"{dimension}: needs {format(requested)}, largest free {format(largestFree)} on {largest.Name}; {lacking} of {total} nodes lack {noun}");
    }

    private static string Names(List<NodeSlot> nodes, Func<NodeSlot, string> describe)
    {
        var shown = nodes.OrderBy(s => s.Name, StringComparer.Ordinal).Take(NamesShown).Select(describe);
        return string.Join(", ", shown) + (nodes.Count > NamesShown ? ", ..." : "");
    }

    private static string Ports(long count) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {(count == 1 ? "port" : "ports")}");

    private static string Constraints(ServiceSpec spec) =>
        string.Join(", ", spec.Placement.Constraints.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));
}
