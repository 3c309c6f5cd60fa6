using VirtualCluster.Conformance.Tests;
using VirtualCluster.Membership.Consul.Client;
using VirtualCluster.Membership.Consul.Tests.Fake;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Consul.Tests;

/// <summary>What our Consul client sends, checked against <see cref="FakeConsulServer"/>'s request log.</summary>
public sealed class FakeConsulClientTests : IAsyncLifetime
{
    private FakeConsulServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeConsulServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private (ConsulKeyValueStore Store, ConsulMembership Membership, ConsulLeaderElection Election, ConsulMembershipOptions Options) Connect(
        Action<ConsulMembershipOptions>? configure = null)
    {
        var options = new ConsulMembershipOptions { Address = _server.Address, BlockingWait = TimeSpan.FromSeconds(1) };
        configure?.Invoke(options);
        var client = new ConsulClient(new HttpClient(), options);
        var store = new ConsulKeyValueStore(client, options);
        return (store, new ConsulMembership(client, options), new ConsulLeaderElection(store, options), options);
    }

    [Fact]
    public async Task Leases_are_sessions_with_consuls_minimum_ttl_delete_behaviour_and_short_lock_delay()
    {
        var (store, _, _, _) = Connect();

        var lease = await store.GrantLeaseAsync(TimeSpan.FromSeconds(2));

        Assert.Equal(TimeSpan.FromSeconds(10), lease.Ttl);
        Assert.Equal(["10s"], _server.SessionTtls);
        Assert.Contains("PUT /v1/session/create", _server.Requests);
        Assert.True(await store.KeepAliveAsync(lease.Id));
        Assert.Contains($"PUT /v1/session/renew/{lease.Id}", _server.Requests);
        await store.RevokeLeaseAsync(lease.Id);
        Assert.False(await store.KeepAliveAsync(lease.Id));
    }

    [Fact]
    public async Task Writes_are_transactions_with_a_journal_entry_and_reads_use_recurse()
    {
        var (store, _, _, options) = Connect();

        var revision = await store.PutAsync("a/b", "v");
        var page = await store.ListAsync("a/");

        Assert.Contains("PUT /v1/txn", _server.Requests);
        Assert.Contains(_server.Requests, r => r.StartsWith("GET /v1/kv/vcluster/a/?recurse", StringComparison.Ordinal));
        Assert.Equal("v", _server.ValueOf(options.KeyPrefix + "a/b"));
        Assert.Equal(revision, Assert.Single(page.Entries).ModRevision);
        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync("_journal/x", "reserved"));
    }

    [Fact]
    public async Task Watches_of_members_and_leaders_are_blocking_queries_with_index_and_wait()
    {
        var (store, membership, election, options) = Connect();
        await using (var members = new WatchRecorder<VirtualCluster.Membership.MembershipChange>(ct => membership.WatchAsync(ct)))
        {
            await membership.RegisterAsync(new MemberInfo("n1", "n1", "10.0.0.1", new Resources(1000, 1 << 30, 0), new Dictionary<string, string>()), TimeSpan.FromSeconds(30));
            await members.WaitForCountAsync(1, TimeSpan.FromSeconds(10));
        }
        await using (var leaders = new WatchRecorder<LeaderInfo?>(ct => election.ObserveAsync("e", ct)))
        {
            // The observer reports "no leader" first; campaigning before that arrives would let it start with the leader.
            Assert.Null(Assert.Single(await leaders.WaitForCountAsync(1, TimeSpan.FromSeconds(10))));
            var lease = await store.GrantLeaseAsync(TimeSpan.FromSeconds(10));
            await election.CampaignAsync("e", "me", lease.Id);
            Assert.Equal("me", (await leaders.WaitForCountAsync(2, TimeSpan.FromSeconds(10)))[^1]?.Value);
        }

        Assert.Contains(_server.Requests, r => r.StartsWith($"GET /v1/health/service/{options.ServiceName}?index=", StringComparison.Ordinal) && r.Contains("&wait=1s", StringComparison.Ordinal));
        Assert.Contains(_server.Requests, r => r.StartsWith("GET /v1/kv/vcluster/elections/e?index=", StringComparison.Ordinal) && r.Contains("&wait=1s", StringComparison.Ordinal));
        Assert.Contains(_server.Requests, r => r.StartsWith("PUT /v1/kv/vcluster/elections/e?acquire=", StringComparison.Ordinal));
        Assert.Contains("PUT /v1/agent/service/register", _server.Requests);
    }

    [Fact]
    public async Task Renewing_a_member_passes_its_ttl_check_and_the_token_header_is_sent()
    {
        var (_, membership, _, _) = Connect(o => o.Token = "secret-token");
        var registration = await membership.RegisterAsync(new MemberInfo("n1", "n1", "10.0.0.1", new Resources(1000, 1 << 30, 0),
            new Dictionary<string, string> { ["zone"] = "a" }), TimeSpan.FromSeconds(30));

        Assert.True(await membership.RenewAsync(registration));

        Assert.Contains(_server.Requests, r => r.StartsWith($"PUT /v1/agent/check/pass/{registration.LeaseId}", StringComparison.Ordinal));
        Assert.Equal(["secret-token"], _server.Tokens);
        var listed = Assert.Single((await membership.ListAsync()).Members);
        Assert.Equal("a", listed.Metadata["zone"]);
        Assert.Equal(1000, listed.Capacity.CpuMillicores);
    }

    [Fact]
    public async Task An_unreachable_agent_is_reported_unavailable_and_options_are_validated()
    {
        var options = new ConsulMembershipOptions { Address = "http://127.0.0.1:1", RequestTimeout = TimeSpan.FromSeconds(2) };
        var store = new ConsulKeyValueStore(new ConsulClient(new HttpClient(), options), options);
        await Assert.ThrowsAsync<KeyValueStoreUnavailableException>(() => store.GetAsync("k"));

        var error = Assert.Throws<ArgumentException>(() => new ConsulKeyValueStore(new ConsulClient(new HttpClient(), options),
            new ConsulMembershipOptions { Address = "nope", KeyPrefix = "/bad" }));
        Assert.Contains("Address", error.Message);
        Assert.Contains("KeyPrefix", error.Message);
        Assert.Equal("10s", ConsulClient.Duration(TimeSpan.FromSeconds(10)));
        Assert.Equal("1500ms", ConsulClient.Duration(TimeSpan.FromMilliseconds(1500)));
    }
}
