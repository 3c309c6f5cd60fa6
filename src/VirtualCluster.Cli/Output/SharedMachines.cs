using VirtualCluster.Api;

namespace VirtualCluster.Cli.Output;

/// <summary>Says which nodes share one machine (as `local` runs them), from the labels their agents set.</summary>
internal static class SharedMachines
{
    /// <summary>One line per shared machine, e.g. "node-1, node-2, node-3 share one machine (box): each reports 1/3 of its CPU, memory and disk".</summary>
    public static IEnumerable<string> Lines(IReadOnlyList<NodeView> nodes)
    {
        var shared = nodes
            .Where(v => v.Node.State != NodeState.Left && v.Node.Labels is not null && v.Node.Labels.ContainsKey(NodeLabels.MachineShare))
            .GroupBy(v => v.Node.Labels.TryGetValue(NodeLabels.Machine, out var machine) ? machine : "", StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var machine in shared)
        {
            var names = machine.Select(v => v.Node.Name).Order(StringComparer.Ordinal).ToList();
            var parts = machine.Select(v => v.Node.Labels[NodeLabels.MachineShare].Split('/').Last()).Distinct(StringComparer.Ordinal).ToList();
            var portion = parts.Count == 1 ? $"1/{parts[0]}" : "its part";
            var where = machine.Key.Length > 0 ? $" ({machine.Key})" : "";
            yield return names.Count == 1
                ? $"{names[0]} shares its machine{where} with other nodes: it reports {portion} of the machine's CPU, memory and disk"
                : $"{string.Join(", ", names)} share one machine{where}: each reports {portion} of its CPU, memory and disk";
        }
    }
}
