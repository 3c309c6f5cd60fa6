using VirtualCluster.ControlPlane.Tests.Store;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Membership.Consul.Client;
using VirtualCluster.Membership.Consul.Tests.Fake;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Consul.Tests;

/// <summary>
/// The control plane's store contract on <see cref="KvClusterStore"/> over the Consul provider and
/// <see cref="FakeConsulServer"/>, fenced by a leadership from <see cref="ConsulLeaderElection"/>. Checks our
/// transaction mapping; not proof against a real Consul.
/// </summary>
public sealed class FakeConsulClusterStoreTests : ClusterStoreContractTests
{
    private readonly FakeConsulServer _server;
    private readonly HttpClient _http = new();
    private readonly KvClusterStore _store;

    public FakeConsulClusterStoreTests()
    {
        _server = FakeConsulServer.StartAsync().GetAwaiter().GetResult();
        var options = new ConsulMembershipOptions { Address = _server.Address };
        var kv = new ConsulKeyValueStore(new ConsulClient(_http, options), options);
        var lease = kv.GrantLeaseAsync(TimeSpan.FromMinutes(10)).GetAwaiter().GetResult();
        var fence = new LeadershipFence();
        fence.Set(new ConsulLeaderElection(kv, options).CampaignAsync("control-plane", "test", lease.Id).GetAwaiter().GetResult());
        _store = new KvClusterStore(kv, fence);
    }

    protected override IClusterStore CreateStore() => _store;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _http.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
