using VirtualCluster.ControlPlane.Tests.Store;
using VirtualCluster.Membership;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Membership.Election;
using VirtualCluster.Membership.Embedded;
using VirtualCluster.Store;
using static VirtualCluster.ControlPlane.Tests.Store.StoreTestData;

namespace VirtualCluster.Conformance.Tests;

/// <summary>The control plane's store contract on <see cref="KvClusterStore"/> over the embedded key-value store.</summary>
public sealed class KvClusterStoreOnEmbeddedTests : ClusterStoreContractTests
{
    private readonly string _directory;
    private readonly SqliteKeyValueStore _kv;
    private readonly KvClusterStore _store;

    // Built up front: the contract may ask for the store from many threads at once.
    public KvClusterStoreOnEmbeddedTests()
    {
        _directory = Directory.CreateTempSubdirectory("vc-kv-cluster-").FullName;
        _kv = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(_directory, "kv.db") });
        _store = new KvClusterStore(_kv);
    }

    protected override IClusterStore CreateStore() => _store;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _kv.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The same contract with every write fenced by a live leadership, as the highly available control plane runs it.</summary>
public sealed class FencedKvClusterStoreTests : ClusterStoreContractTests
{
    private readonly string _directory;
    private readonly SqliteKeyValueStore _kv;
    private readonly KvClusterStore _store;

    public FencedKvClusterStoreTests()
    {
        _directory = Directory.CreateTempSubdirectory("vc-kv-fenced-").FullName;
        _kv = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(_directory, "kv.db") });
        var lease = _kv.GrantLeaseAsync(TimeSpan.FromMinutes(10)).GetAwaiter().GetResult();
        var fence = new LeadershipFence();
        fence.Set(new KvLeaderElection(_kv).CampaignAsync("control-plane", "me", lease.Id).GetAwaiter().GetResult());
        _store = new KvClusterStore(_kv, fence);
    }

    protected override IClusterStore CreateStore() => _store;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _kv.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Fencing: once leadership passes on, the old leader's writes are refused and nothing it wrote late is stored.</summary>
public sealed class KvClusterStoreFencingTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-kv-fencing-").FullName;
    private SqliteKeyValueStore _kv = null!;
    private KvLeaderElection _election = null!;

    public Task InitializeAsync()
    {
        _kv = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(_directory, "kv.db") });
        _election = new KvLeaderElection(_kv);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Deposed_leader_cannot_write_and_the_new_leader_continues_with_greater_epochs()
    {
        var oldLease = await _kv.GrantLeaseAsync(TimeSpan.FromMinutes(1));
        var oldFence = new LeadershipFence();
        oldFence.Set(await _election.CampaignAsync("cp", "old", oldLease.Id));
        var oldStore = new KvClusterStore(_kv, oldFence);
        Assert.True(await oldStore.CreateServiceAsync(Service("hello"), [Instance("hello-1", "hello")]));
        var oldEpoch = await oldStore.NextEpochAsync();

        await _kv.RevokeLeaseAsync(oldLease.Id); // the old leader's lease ends (it hangs, is cut off...)
        var newLease = await _kv.GrantLeaseAsync(TimeSpan.FromMinutes(1));
        var newFence = new LeadershipFence();
        newFence.Set(await _election.CampaignAsync("cp", "new", newLease.Id));
        var newStore = new KvClusterStore(_kv, newFence);

        // The old process has not noticed yet: its fence is still set, but the store refuses it.
        await Assert.ThrowsAsync<NotLeaderException>(() => oldStore.UpsertInstanceAsync(Instance("hello-1", "hello", state: InstanceState.Failed)));
        await Assert.ThrowsAsync<NotLeaderException>(() => oldStore.NextEpochAsync());
        await Assert.ThrowsAsync<NotLeaderException>(() => oldStore.DeleteServiceAsync("hello"));
        await Assert.ThrowsAsync<NotLeaderException>(() => oldStore.AppendEventAsync(new ClusterEvent(0, Time, "k", "s", "m")));
        Assert.Equal(InstanceState.Running, (await newStore.ListInstancesAsync("hello")).Single().State);

        Assert.True(await newStore.NextEpochAsync() > oldEpoch);
        Assert.True(await newStore.DeleteServiceAsync("hello"));
        // Reads and settings need no leadership.
        Assert.Empty(await oldStore.ListServicesAsync());
        Assert.Equal("v", await oldStore.GetOrAddSettingAsync("k", "v"));

        oldFence.Set(null);
        await Assert.ThrowsAsync<NotLeaderException>(() => oldStore.UpsertNodeAsync(Node("n1")));
    }

    public async Task DisposeAsync()
    {
        await _kv.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
