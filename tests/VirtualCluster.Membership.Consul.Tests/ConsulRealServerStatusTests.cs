using Xunit.Abstractions;

namespace VirtualCluster.Membership.Consul.Tests;

/// <summary>Says plainly, in the test output, whether the Consul provider was also tested against a real Consul.</summary>
public sealed class ConsulRealServerStatusTests(ITestOutputHelper output)
{
    [Fact]
    public void Real_consul_conformance_run_happens_only_when_CONSUL_HTTP_ADDR_is_set()
    {
        var address = Environment.GetEnvironmentVariable("CONSUL_HTTP_ADDR");
        var compiledIn = typeof(ConsulRealServerStatusTests).Assembly.GetType("VirtualCluster.Membership.Consul.Tests.RealConsul.RealConsulConformanceTests") is not null;
        var message = compiledIn
            ? $"REAL CONSUL: the conformance suite also ran against the real Consul at {address} (RealConsulConformanceTests)."
            : "REAL CONSUL: NOT TESTED. CONSUL_HTTP_ADDR was not set, so the Consul provider ran only against FakeConsulServer, which is not proof that it works with a real Consul. Set CONSUL_HTTP_ADDR (build and run) to run the suite against one.";
        output.WriteLine(message);
        Console.WriteLine(message);
        // Built with the variable but run without it (or the reverse) would silently test the wrong thing.
        Assert.True(compiledIn == !string.IsNullOrEmpty(address),
            $"CONSUL_HTTP_ADDR must be the same when building and running the tests (compiled in: {compiledIn}, now: \"{address}\").");
    }
}
