using VirtualCluster.ControlPlane.Tests.Store;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Etcd.Tests;

/// <summary>
/// The control plane's store contract on <see cref="KvClusterStore"/> over a real etcd, with every write fenced by
/// a leadership won through etcd's election service, as the highly available control plane runs it.
/// </summary>
public sealed class EtcdClusterStoreTests : ClusterStoreContractTests, IClassFixture<EtcdServer>
{
    private readonly EtcdKeyValueStore _kv;
    private readonly KvClusterStore _store;

    public EtcdClusterStoreTests(EtcdServer server)
    {
        _kv = new EtcdKeyValueStore(new EtcdMembershipOptions { Endpoints = [server.ClientUrl], KeyPrefix = $"/store-{Guid.NewGuid():N}/" });
        var lease = _kv.GrantLeaseAsync(TimeSpan.FromMinutes(10)).GetAwaiter().GetResult();
        var fence = new LeadershipFence();
        fence.Set(new EtcdLeaderElection(_kv).CampaignAsync("control-plane", "test", lease.Id).GetAwaiter().GetResult());
        _store = new KvClusterStore(_kv, fence);
    }

    protected override IClusterStore CreateStore() => _store;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _kv.Dispose();
    }
}
