namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>A NAT test: needs root, ip, iptables and coturn. Skipped with the runtime reason otherwise; CI runs it as root.</summary>
public sealed class NatTheoryAttribute : TheoryAttribute
{
    public NatTheoryAttribute()
    {
        if (NatLab.UnavailableReason() is { } reason) Skip = reason;
    }
}
