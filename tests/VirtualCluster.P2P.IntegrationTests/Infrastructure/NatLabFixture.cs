namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>One NAT lab for the whole NAT test class: two homes behind each NAT type, coturn in the public namespace.</summary>
public sealed class NatLabFixture : IAsyncLifetime
{
    public static readonly (string Name, NatType Nat)[] Homes =
    [
        ("cone1", NatType.PortRestrictedCone), ("cone2", NatType.PortRestrictedCone),
        ("full1", NatType.FullCone), ("full2", NatType.FullCone),
        ("sym1", NatType.Symmetric), ("sym2", NatType.Symmetric),
    ];

    public NatLab? Lab { get; private set; }

    public async Task InitializeAsync()
    {
        if (NatLab.UnavailableReason() is not null) return; // the tests skip and say why
        Lab = await NatLab.CreateAsync(Homes);
    }

    public Task DisposeAsync()
    {
        Lab?.Dispose();
        return Task.CompletedTask;
    }
}
