namespace VirtualCluster.Scheduling;

/// <summary>The filters that do not depend on resources; a node failing any of them can never take the service.</summary>
internal static class NodeFilters
{
    /// <summary>Only nodes whose heartbeats arrive on time get new work.</summary>
    public static bool IsAlive(NodeSlot slot) => slot.Node.State == NodeState.Alive;

    public static bool HasDriver(NodeSlot slot, ServiceSpec spec) => slot.Node.Drivers.Contains(spec.Driver, StringComparer.Ordinal);

    public static bool MatchesConstraints(NodeSlot slot, ServiceSpec spec) =>
        spec.Placement.Constraints.All(c => slot.Node.Labels.TryGetValue(c.Key, out var value) && value == c.Value);

    public static bool PassesAll(NodeSlot slot, ServiceSpec spec) =>
        IsAlive(slot) && HasDriver(slot, spec) && MatchesConstraints(slot, spec);
}
