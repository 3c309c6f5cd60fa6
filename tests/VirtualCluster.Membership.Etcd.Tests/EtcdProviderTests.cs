using VirtualCluster.Conformance.Tests;
using VirtualCluster.Membership.Members;

namespace VirtualCluster.Membership.Etcd.Tests;

/// <summary>The conformance suite against a real etcd; each test uses its own key prefix.</summary>
public sealed class EtcdProviderTests(EtcdServer server) : ProviderConformanceTests, IClassFixture<EtcdServer>
{
    private readonly string _prefix = $"/test-{Guid.NewGuid():N}/";

    internal static ProviderUnderTest Connect(string url, string prefix)
    {
        var store = new EtcdKeyValueStore(new EtcdMembershipOptions { Endpoints = [url], KeyPrefix = prefix });
        return new ProviderUnderTest(store, new EtcdLeaderElection(store), new KvMembership(store), new Disposer(store));
    }

    protected override Task<ProviderUnderTest> CreateProviderAsync() => Task.FromResult(Connect(server.ClientUrl, _prefix));

    protected override Task<ProviderUnderTest> CreateSecondClientAsync() => Task.FromResult(Connect(server.ClientUrl, _prefix));

    protected override Task InterruptConnectionAsync() => server.RestartAsync();

    private sealed class Disposer(IDisposable disposable) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            disposable.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
