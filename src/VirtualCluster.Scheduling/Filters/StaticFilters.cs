namespace VirtualCluster.Scheduling;

/// <summary>Only nodes whose heartbeats arrive on time (<see cref="NodeState.Alive"/>) get new work.</summary>
public sealed class NodeStateFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => FilterNames.NodeState;

    /// <inheritdoc />
    public bool IsStatic => true;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => true;

    /// <inheritdoc />
    public int Filter(PlacementContext context, Span<int> nodes)
    {
        var alive = context.Cluster.Alive;
        var kept = 0;
        foreach (var i in nodes)
            if (alive[i]) nodes[kept++] = i;
        return kept;
    }

    /// <inheritdoc />
    public void Explain(PlacementContext context, int node, List<string> reasons)
    {
        if (!context.Cluster.Alive[node]) reasons.Add("state " + context.Cluster.Node(node).State.ToString().ToLowerInvariant());
    }
}

/// <summary>The node's agent offers the spec's workload driver ("process", "docker").</summary>
public sealed class DriverFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => FilterNames.Driver;

    /// <inheritdoc />
    public bool IsStatic => true;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) => true;

    /// <inheritdoc />
    public int Filter(PlacementContext context, Span<int> nodes)
    {
        var kept = 0;
        foreach (var i in nodes)
            if (HasDriver(context, i)) nodes[kept++] = i;
        return kept;
    }

    /// <inheritdoc />
    public void Explain(PlacementContext context, int node, List<string> reasons)
    {
        if (!HasDriver(context, node)) reasons.Add("driver " + context.Spec.Driver);
    }

    private static bool HasDriver(PlacementContext context, int node)
    {
        foreach (var driver in context.Cluster.Node(node).Drivers)
            if (string.Equals(driver, context.Spec.Driver, StringComparison.Ordinal)) return true;
        return false;
    }
}

/// <summary>
/// Label constraints: every <see cref="PlacementSpec.Constraints"/> label has exactly that value, and every
/// <see cref="PlacementSpec.LabelExists"/> label is present (true) or absent (false).
/// </summary>
public sealed class LabelConstraintFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => FilterNames.Constraints;

    /// <inheritdoc />
    public bool IsStatic => true;

    /// <inheritdoc />
    public bool AppliesTo(PlacementContext context) =>
        context.Spec.Placement.Constraints.Count > 0 || context.Spec.Placement.LabelExists.Count > 0;

    /// <inheritdoc />
    public int Filter(PlacementContext context, Span<int> nodes)
    {
        var kept = 0;
        foreach (var i in nodes)
            if (Failing(context, i, null) == 0) nodes[kept++] = i;
        return kept;
    }

    /// <inheritdoc />
    public void Explain(PlacementContext context, int node, List<string> reasons) => Failing(context, node, reasons);

    private static int Failing(PlacementContext context, int node, List<string>? reasons)
    {
        var labels = context.Cluster.Node(node).Labels;
        var placement = context.Spec.Placement;
        var failing = 0;
        foreach (var (key, value) in placement.Constraints)
        {
            if (labels.TryGetValue(key, out var actual) && actual == value) continue;
            failing++;
            reasons?.Add($"constraint {key}={value}");
        }
        foreach (var (key, mustExist) in placement.LabelExists)
        {
            if (labels.ContainsKey(key) == mustExist) continue;
            failing++;
            reasons?.Add(mustExist ? $"constraint {key} exists" : $"constraint {key} absent");
        }
        return failing;
    }
}
