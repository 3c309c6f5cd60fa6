namespace VirtualCluster.P2P.Ice;

/// <summary>Priority formulas of RFC 8445 §5.1.2 (candidates) and §6.1.2.3 (pairs).</summary>
public static class IcePriority
{
    /// <summary>Recommended type preferences (§5.1.2.2): host 126, peer-reflexive 110, server-reflexive 100, relayed 0.</summary>
    public static uint TypePreference(IceCandidateType type) => type switch
    {
        IceCandidateType.Host => 126,
        IceCandidateType.PeerReflexive => 110,
        IceCandidateType.ServerReflexive => 100,
        _ => 0,
    };

    /// <summary>priority = 2^24·(type preference) + 2^8·(local preference) + (256 − component ID) (§5.1.2.1).</summary>
    public static uint Candidate(IceCandidateType type, ushort localPreference, int component) =>
        (TypePreference(type) << 24) + ((uint)localPreference << 8) + (uint)(256 - component);

    /// <summary>
    /// pair priority = 2^32·MIN(G,D) + 2·MAX(G,D) + (G&gt;D ? 1 : 0), where G is the controlling agent's candidate
    /// priority and D the controlled agent's (§6.1.2.3).
    /// </summary>
    public static ulong Pair(uint controlling, uint controlled) =>
        ((ulong)Math.Min(controlling, controlled) << 32) + 2UL * Math.Max(controlling, controlled) + (controlling > controlled ? 1UL : 0UL);
}
