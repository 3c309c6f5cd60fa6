namespace VirtualCluster.ControlPlane.Replication;

/// <summary>
/// Chooses the nodes that keep replicas of an instance's volumes. Holders already chosen stay while they are usable
/// (they hold the data, so the next sync is a small delta); the rest are added greedily, each time the candidate
/// that shares the fewest failure domains with the instance's node and the holders so far: first the zone
/// (label <see cref="ZoneLabel"/>), then the physical machine (<see cref="NodeLabels.Machine"/>, set when agents
/// share one), then the name for a stable order.
/// </summary>
internal static class ReplicaHolderChooser
{
    /// <summary>The label that names a node's zone.</summary>
    public const string ZoneLabel = "zone";

    /// <summary>
    /// Up to <paramref name="count"/> holders for an instance on <paramref name="nodeId"/>: never that node, only
    /// nodes in <paramref name="usable"/>, the ones of <paramref name="keep"/> that are usable first.
    /// </summary>
    public static IReadOnlyList<string> Choose(string nodeId, int count, IEnumerable<string> keep, IReadOnlyCollection<NodeInfo> usable)
    {
        var byId = usable.ToDictionary(n => n.Id, StringComparer.Ordinal);
        var chosen = keep.Where(id => id != nodeId && byId.ContainsKey(id)).Distinct(StringComparer.Ordinal).Take(count).ToList();
        var zones = new List<string?>();
        var machines = new List<string?>();
        void Note(NodeInfo? node)
        {
            zones.Add(node?.Labels.GetValueOrDefault(ZoneLabel));
            machines.Add(node?.Labels.GetValueOrDefault(NodeLabels.Machine));
        }
        Note(usable.FirstOrDefault(n => n.Id == nodeId));
        foreach (var id in chosen) Note(byId[id]);
        while (chosen.Count < count)
        {
            var next = usable.Where(n => n.Id != nodeId && !chosen.Contains(n.Id))
                .OrderBy(n => Shared(zones, n.Labels.GetValueOrDefault(ZoneLabel)))
                .ThenBy(n => Shared(machines, n.Labels.GetValueOrDefault(NodeLabels.Machine)))
                .ThenBy(n => n.Name, StringComparer.Ordinal)
                .FirstOrDefault();
            if (next is null) break;
            chosen.Add(next.Id);
            Note(next);
        }
        return chosen;
    }

    /// <summary>How many chosen nodes share <paramref name="value"/> (a node without the label shares nothing).</summary>
    private static int Shared(List<string?> values, string? value) => value is null ? 0 : values.Count(v => v == value);
}
