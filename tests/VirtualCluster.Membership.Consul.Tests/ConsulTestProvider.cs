using VirtualCluster.Conformance.Tests;
using VirtualCluster.Membership.Consul.Client;

namespace VirtualCluster.Membership.Consul.Tests;

/// <summary>Builds the Consul provider's three services against a Consul address (real or fake).</summary>
internal static class ConsulTestProvider
{
    public static ConsulMembershipOptions Options(string address, string id, TimeSpan minimumTtl) => new()
    {
        Address = address,
        KeyPrefix = $"vc-test-{id}/",
        ServiceName = $"vc-test-{id}",
        MinimumSessionTtl = minimumTtl,
        SessionLockDelay = TimeSpan.FromMilliseconds(200),
        BlockingWait = TimeSpan.FromSeconds(2),
        RequestTimeout = TimeSpan.FromSeconds(5),
    };

    public static ProviderUnderTest Connect(ConsulMembershipOptions options, IAsyncDisposable? cleanup)
    {
        var http = new HttpClient();
        var client = new ConsulClient(http, options);
        var store = new ConsulKeyValueStore(client, options);
        return new ProviderUnderTest(store, new ConsulLeaderElection(store, options), new ConsulMembership(client, options),
            new Cleanup(http, cleanup));
    }

    private sealed class Cleanup(HttpClient http, IAsyncDisposable? inner) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            http.Dispose();
            if (inner is not null) await inner.DisposeAsync();
        }
    }
}
