using VirtualCluster.Conformance.Tests;

namespace VirtualCluster.Membership.Consul.Tests.RealConsul;

/// <summary>
/// The conformance suite against the real Consul at CONSUL_HTTP_ADDR (compiled in only when that variable is set
/// at build time). Each test uses its own key prefix and service name. Consul needs session TTLs of at least 10 s
/// and may take up to twice the TTL to end a session, so these tests are slow.
/// </summary>
public sealed class RealConsulConformanceTests : ProviderConformanceTests
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..12];

    private static string Address
    {
        get
        {
            var value = Environment.GetEnvironmentVariable("CONSUL_HTTP_ADDR") ?? throw new InvalidOperationException("CONSUL_HTTP_ADDR is not set at run time.");
            return value.Contains("://", StringComparison.Ordinal) ? value : "http://" + value;
        }
    }

    protected override TimeSpan LeaseTtl => TimeSpan.FromSeconds(10);

    protected override Task<ProviderUnderTest> CreateProviderAsync()
    {
        var options = ConsulTestProvider.Options(Address, _id, TimeSpan.FromSeconds(10));
        options.Token = Environment.GetEnvironmentVariable("CONSUL_HTTP_TOKEN");
        return Task.FromResult(ConsulTestProvider.Connect(options, null));
    }

    protected override Task<ProviderUnderTest> CreateSecondClientAsync() => CreateProviderAsync();
}
