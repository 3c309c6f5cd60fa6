using VirtualCluster.Membership;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Membership.Election;
using VirtualCluster.Membership.Embedded;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Tests.Store;

/// <summary>
/// <see cref="ThousandReplicaDeployTests"/> on the embedded SQLite key-value store in a temp file, with the
/// transaction size the embedded host configures (SQLite's 4,096).
/// </summary>
public sealed class EmbeddedThousandReplicaDeployTests : ThousandReplicaDeployTests
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-sim12-embedded-").FullName;
    private SqliteKeyValueStore? _kv;

    protected override int TransactionLimit => SqliteKeyValueStore.MaxTransactionSize;

    protected override KvClusterStoreOptions StoreOptions => new() { MaxTransactionSize = SqliteKeyValueStore.MaxTransactionSize };

    protected override Task<IKeyValueStore> OpenStoreAsync()
    {
        _kv = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(_dir, "state.db") });
        return Task.FromResult<IKeyValueStore>(_kv);
    }

    protected override async Task<Leadership> CampaignAsync(IKeyValueStore kv)
    {
        var lease = await kv.GrantLeaseAsync(TimeSpan.FromMinutes(10));
        return await new KvLeaderElection(kv).CampaignAsync("embedded-control-plane", "test", lease.Id);
    }

    public override async Task DisposeAsync()
    {
        if (_kv is not null) await _kv.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
