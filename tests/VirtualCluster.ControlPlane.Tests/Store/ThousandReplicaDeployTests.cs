using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Cluster;
using VirtualCluster.FailureDetection;
using VirtualCluster.Membership;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Scheduling;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Tests.Store;

/// <summary>
/// A deploy and a delete of 1,000 replicas through the control plane (<see cref="ClusterService"/> with the
/// production scheduler) on a provider's key-value store, fenced by a leadership as the control plane runs it.
/// Every transaction is counted against the provider's limit, and after each one a second reader checks that the
/// service is visible whole or not at all. A provider's test class only supplies the store and the election.
/// </summary>
public abstract class ThousandReplicaDeployTests : IAsyncLifetime
{
    private const int Replicas = 1_000;
    private const int Nodes = 50;
    private CheckingKeyValueStore? _kv;

    /// <summary>The provider's store, fresh (or under a fresh prefix) for this test.</summary>
    protected abstract Task<IKeyValueStore> OpenStoreAsync();

    /// <summary>Wins the control plane's election on <paramref name="kv"/> with a lease, as the provider's host does.</summary>
    protected abstract Task<Leadership> CampaignAsync(IKeyValueStore kv);

    /// <summary>Conditions plus operations the provider accepts in one transaction.</summary>
    protected abstract int TransactionLimit { get; }

    /// <summary>The cluster store's settings as the provider's host configures them.</summary>
    protected virtual KvClusterStoreOptions StoreOptions => new();

    public async Task InitializeAsync() => _kv = new CheckingKeyValueStore(await OpenStoreAsync());

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_deploy_and_a_delete_of_a_thousand_replicas_succeed_and_are_never_seen_half_done()
    {
        var kv = _kv!;
        var fence = new LeadershipFence();
        fence.Set(await CampaignAsync(kv));
        var store = new KvClusterStore(kv, fence, StoreOptions);
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var options = new ControlPlaneOptions();
        var cluster = new ClusterService(store, new PipelineScheduler(), new NodeFailureDetector(options.FailureDetector, time), time,
            Microsoft.Extensions.Options.Options.Create(options), NullLogger<ClusterService>.Instance);
        var capacity = new Resources(16_000, 64L << 30, 100L << 30);
        for (var i = 0; i < Nodes; i++)
        {
            var joined = await cluster.JoinAsync(new JoinRequest("checked-by-api", $"node-{i:D2}", "127.0.0.1", capacity, ["process"],
                new PortRange(20000, 20099), null), default);
            Assert.True(joined.StatusCode == 200, joined.Error?.Error);
        }
        // A reader of its own (unfenced, reads only) looks at the store after every transaction of the deploy and the delete.
        var reader = new KvClusterStore(kv.Inner);
        kv.AfterCommit = WholeOrNothing(kv, reader);

        var before = kv.Transactions;
        var deployed = await cluster.DeployAsync(Spec, default);

        Assert.True(deployed.StatusCode == 201, deployed.Error?.Error);
        var deployTransactions = kv.Transactions - before;
        var stored = await reader.ListInstancesAsync("big");
        Assert.Equal(Replicas, stored.Count);
        Assert.Equal(Replicas, stored.Select(i => i.Id).Distinct().Count());
        Assert.Equal(Replicas, deployed.Service!.Instances.Count);
        var nodes = (await reader.ListNodesAsync()).ToDictionary(n => n.Id);
        foreach (var onNode in stored.GroupBy(i => i.NodeId))
        {
            var node = nodes[onNode.Key];
            Assert.True(onNode.Count() * 100 <= node.Capacity.CpuMillicores, $"{node.Name} holds {onNode.Count()} replicas of 100m on {node.Capacity.CpuMillicores}m");
            var ports = onNode.Select(i => i.Ports["http"]).ToList();
            Assert.Equal(ports.Count, ports.Distinct().Count());
            Assert.All(ports, p => Assert.InRange(p, node.Ports.First, node.Ports.Last));
        }

        Assert.True(await cluster.RemoveAsync("big", default));

        Assert.Null(await reader.GetServiceAsync("big"));
        Assert.Empty(await reader.ListInstancesAsync());
        foreach (var id in nodes.Keys) Assert.Empty(await reader.ListInstancesAsync(nodeId: id));
        foreach (var prefix in new[] { "instances/", "instance-ids/", "node-instances/", "pending/", "garbage/" })
            Assert.Empty((await kv.Inner.ListAsync("cluster/" + prefix)).Entries);
        // The checks saw the work split into many transactions, none over the limit, and no half-done state between them.
        Assert.Empty(kv.Violations);
        Assert.True(kv.LargestTransaction <= TransactionLimit, $"a transaction held {kv.LargestTransaction} conditions and operations; the limit is {TransactionLimit}");
        Assert.True(deployTransactions >= 2 && kv.Transactions > before + deployTransactions, $"{deployTransactions} transaction(s) for the deploy, {kv.Transactions - before} with the delete");
    }

    [Fact]
    public async Task Positive_control_the_check_sees_a_service_record_stored_without_its_instances()
    {
        var kv = _kv!;
        kv.AfterCommit = WholeOrNothing(kv, new KvClusterStore(kv.Inner));
        var record = new ServiceRecord(ServiceSpecParser.Parse(Spec).Spec!, DateTimeOffset.UnixEpoch, 1);

        await kv.TransactAsync([], [KvOperation.Put("cluster/services/big", System.Text.Json.JsonSerializer.Serialize(record, VirtualClusterJson.Options))]);

        Assert.Equal(["after transaction 1: service present with 0 instance(s) visible"], kv.Violations);
    }

    private static readonly string Spec = $$"""
        { "name": "big", "command": "dotnet", "args": ["app.dll"], "replicas": {{Replicas}},
          "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [ { "name": "http" } ] }
        """;

    /// <summary>A check for after each transaction: service "big" is visible with all its replicas or not at all.</summary>
    private static Func<Task> WholeOrNothing(CheckingKeyValueStore kv, KvClusterStore reader) => async () =>
    {
        var service = await reader.GetServiceAsync("big");
        var instances = await reader.ListInstancesAsync("big");
        if (instances.Count != (service is null ? 0 : Replicas))
            kv.Violations.Add($"after transaction {kv.Transactions}: service {(service is null ? "absent" : "present")} with {instances.Count} instance(s) visible");
    };

    /// <summary>Passes everything to the provider's store, counting each transaction's size and running a check after each one that applied.</summary>
    private sealed class CheckingKeyValueStore(IKeyValueStore inner) : IKeyValueStore
    {
        public IKeyValueStore Inner => inner;
        public Func<Task>? AfterCommit { get; set; }
        public List<string> Violations { get; } = [];
        public int Transactions { get; private set; }
        public int LargestTransaction { get; private set; }

        public async Task<KvTransactionResult> TransactAsync(IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations, CancellationToken cancellationToken = default)
        {
            LargestTransaction = Math.Max(LargestTransaction, conditions.Count + operations.Count);
            var result = await inner.TransactAsync(conditions, operations, cancellationToken);
            if (!result.Succeeded) return result;
            Transactions++;
            if (AfterCommit is { } check) await check();
            return result;
        }

        public Task<KvEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);
        public Task<KvPage> ListAsync(string prefix, string? startKey = null, int limit = 0, CancellationToken cancellationToken = default) =>
            inner.ListAsync(prefix, startKey, limit, cancellationToken);
        public IAsyncEnumerable<KvEvent> WatchAsync(string prefix, long afterRevision, CancellationToken cancellationToken = default) =>
            inner.WatchAsync(prefix, afterRevision, cancellationToken);
        public Task<KvLease> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default) => inner.GrantLeaseAsync(ttl, cancellationToken);
        public Task<bool> KeepAliveAsync(string leaseId, CancellationToken cancellationToken = default) => inner.KeepAliveAsync(leaseId, cancellationToken);
        public Task RevokeLeaseAsync(string leaseId, CancellationToken cancellationToken = default) => inner.RevokeLeaseAsync(leaseId, cancellationToken);
    }
}
