using VirtualCluster.ControlPlane.Tests.Store;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Etcd.Tests;

/// <summary>
/// <see cref="ThousandReplicaDeployTests"/> on a real etcd (started by <see cref="EtcdServer"/> with its default
/// limit of 128 operations per transaction), with the election the highly available control plane uses.
/// </summary>
public sealed class EtcdThousandReplicaDeployTests(EtcdServer server) : ThousandReplicaDeployTests, IClassFixture<EtcdServer>
{
    private EtcdKeyValueStore? _kv;

    protected override int TransactionLimit => EtcdKeyValueStore.MaxTransactionSize;

    protected override Task<IKeyValueStore> OpenStoreAsync()
    {
        _kv = new EtcdKeyValueStore(new EtcdMembershipOptions { Endpoints = [server.ClientUrl], KeyPrefix = $"/sim12-{Guid.NewGuid():N}/" });
        return Task.FromResult<IKeyValueStore>(_kv);
    }

    protected override async Task<Leadership> CampaignAsync(IKeyValueStore kv)
    {
        var lease = await kv.GrantLeaseAsync(TimeSpan.FromMinutes(10));
        return await new EtcdLeaderElection(_kv!).CampaignAsync("control-plane", "test", lease.Id);
    }

    public override Task DisposeAsync()
    {
        _kv?.Dispose();
        return Task.CompletedTask;
    }
}
