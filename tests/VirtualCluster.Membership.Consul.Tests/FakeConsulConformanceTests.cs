using VirtualCluster.Conformance.Tests;
using VirtualCluster.Membership.Consul.Tests.Fake;

namespace VirtualCluster.Membership.Consul.Tests;

/// <summary>
/// The conformance suite on the Consul provider against <see cref="FakeConsulServer"/>. This checks our client's
/// use of the HTTP API as Consul documents it; it is no proof that the provider works with a real Consul (see
/// RealConsul/, which runs when CONSUL_HTTP_ADDR is set). The fake accepts 1 s session TTLs to keep this fast;
/// a real Consul needs 10 s.
/// </summary>
public sealed class FakeConsulConformanceTests : ProviderConformanceTests
{
    private FakeConsulServer? _server;
    private readonly string _id = Guid.NewGuid().ToString("N")[..12];

    protected override async Task<ProviderUnderTest> CreateProviderAsync()
    {
        _server = await FakeConsulServer.StartAsync(minimumSessionTtl: TimeSpan.FromSeconds(1));
        return ConsulTestProvider.Connect(ConsulTestProvider.Options(_server.Address, _id, TimeSpan.FromSeconds(1)), _server);
    }

    protected override Task<ProviderUnderTest> CreateSecondClientAsync() =>
        Task.FromResult(ConsulTestProvider.Connect(ConsulTestProvider.Options(_server!.Address, _id, TimeSpan.FromSeconds(1)), null));
}
