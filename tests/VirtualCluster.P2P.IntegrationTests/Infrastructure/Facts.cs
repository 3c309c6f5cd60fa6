namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>A test that needs coturn installed; skipped, with the reason, when it is not (e.g. not root, so not installed).</summary>
public sealed class CoturnFactAttribute : FactAttribute
{
    public CoturnFactAttribute()
    {
        if (!Shell.Exists("turnserver")) Skip = "coturn (turnserver) is not installed; scripts/install-p2p-deps.sh installs it when run as root";
    }
}

/// <summary>A NAT test: needs root, ip, iptables and coturn. Skipped with the runtime reason otherwise; CI runs it as root.</summary>
public sealed class NatTheoryAttribute : TheoryAttribute
{
    public NatTheoryAttribute()
    {
        if (NatLab.UnavailableReason() is { } reason) Skip = reason;
    }
}
