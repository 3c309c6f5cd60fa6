namespace VirtualCluster;

/// <summary>Names of the placement strategies a spec may ask for (<see cref="PlacementSpec.Strategy"/>).</summary>
public static class PlacementStrategyNames
{
    /// <summary>Fill nodes before using empty ones (most-allocated first): fewer machines, room kept for big services.</summary>
    public const string BinPack = "binpack";

    /// <summary>Prefer the emptiest nodes (least-allocated first): more headroom per instance, load spread out.</summary>
    public const string Spread = "spread";

    /// <summary>Every strategy name a spec may use.</summary>
    public static IReadOnlyList<string> All { get; } = [BinPack, Spread];
}

/// <summary>How strongly replicas of one service avoid sharing a node.</summary>
public enum AntiAffinityMode
{
    /// <summary>Replicas may share nodes freely.</summary>
    None,

    /// <summary>Nodes without a replica score higher, but a shared node is used when nothing else fits (the default).</summary>
    Preferred,

    /// <summary>At most one replica per node; a replica that finds no free node is not placed.</summary>
    Required,
}

/// <summary>A weighted preference for nodes whose label <paramref name="Key"/> equals <paramref name="Value"/>.</summary>
/// <param name="Key">Node label key, e.g. "zone".</param>
/// <param name="Value">Label value that matches.</param>
/// <param name="Weight">From -100 (avoid such nodes) to 100 (prefer them); not 0.</param>
public sealed record NodeAffinity(string Key, string Value, int Weight);

/// <summary>
/// Keep replicas balanced over the values of a node label: placing one more replica in a domain (a label value)
/// must not leave it more than <paramref name="MaxSkew"/> replicas above the least-used domain.
/// </summary>
/// <param name="Key">Node label key, e.g. "zone" or "site". Nodes without the label are not eligible.</param>
/// <param name="MaxSkew">Largest allowed difference between the fullest and the emptiest domain, at least 1.</param>
public sealed record TopologySpread(string Key, int MaxSkew);
