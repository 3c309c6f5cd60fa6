using Etcdserverpb;
using Grpc.Net.Client;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Etcd.Tests;

/// <summary>etcd-only behaviour: compaction, several endpoints, options.</summary>
public sealed class EtcdSpecificTests(EtcdServer server) : IClassFixture<EtcdServer>
{
    private EtcdKeyValueStore Connect(params string[] endpoints) =>
        new(new EtcdMembershipOptions { Endpoints = [.. endpoints], KeyPrefix = $"/specific-{Guid.NewGuid():N}/", OperationTimeout = TimeSpan.FromSeconds(3) });

    [Fact]
    public async Task Watch_from_a_compacted_revision_throws_compacted()
    {
        using var store = Connect(server.ClientUrl);
        var first = await store.PutAsync("k", "1");
        var last = await store.PutAsync("k", "2");
        using (var channel = GrpcChannel.ForAddress(server.ClientUrl))
            await new KV.KVClient(channel).CompactAsync(new CompactionRequest { Revision = last });

        var error = await Assert.ThrowsAsync<KvHistoryCompactedException>(async () =>
        {
            await foreach (var _ in store.WatchAsync("", first - 1)) { }
        });
        Assert.Equal(last, error.CompactedRevision);
    }

    [Fact]
    public async Task A_dead_endpoint_first_in_the_list_is_skipped()
    {
        using var store = Connect("http://127.0.0.1:1", server.ClientUrl);

        await store.PutAsync("k", "v");
        Assert.Equal("v", (await store.GetAsync("k"))?.Value);
        var start = (await store.ListAsync("")).Revision;
        await store.PutAsync("k", "w");
        await foreach (var change in store.WatchAsync("", start).WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token))
        {
            Assert.Equal("w", change.Value);
            break;
        }
    }

    [Fact]
    public async Task Unreachable_etcd_throws_unavailable()
    {
        using var store = Connect("http://127.0.0.1:1");

        await Assert.ThrowsAsync<KeyValueStoreUnavailableException>(() => store.GetAsync("k"));
    }

    [Fact]
    public void Invalid_options_list_every_problem()
    {
        var error = Assert.Throws<ArgumentException>(() => new EtcdKeyValueStore(new EtcdMembershipOptions { Endpoints = ["not a url"], KeyPrefix = "" }));
        Assert.Contains("not a url", error.Message);
        Assert.Contains("KeyPrefix", error.Message);
        Assert.Equal(["http://a:2379", "http://b:2379"], EtcdMembershipOptions.ParseEndpoints(" http://a:2379, http://b:2379 ,"));
    }
}
