using VirtualCluster.Membership;
using VirtualCluster.Store;

namespace VirtualCluster.Conformance.Tests;

// Leader election: one leader, handover on resign and on lease expiry, increasing tokens, fencing, observing.
public abstract partial class ProviderConformanceTests
{
    private static readonly TimeSpan CampaignTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Election_has_one_leader_and_the_next_candidate_leads_after_it_resigns_with_a_greater_token()
    {
        var leaseA = await Store.GrantLeaseAsync(LeaseTtl);
        var leaseB = await Store.GrantLeaseAsync(LeaseTtl);
        await using var keepA = new KeepAlive(Store, leaseA);
        await using var keepB = new KeepAlive(Store, leaseB);

        var a = await Election.CampaignAsync("e1", "http://a", leaseA.Id).WaitAsync(CampaignTimeout);
        Assert.Equal(new LeaderInfo("e1", "http://a", a.Token), await Election.GetLeaderAsync("e1"));
        var b = Election.CampaignAsync("e1", "http://b", leaseB.Id);
        await Task.Delay(LeaseTtl);
        Assert.False(b.IsCompleted, "a second candidate was elected while the first still leads");
        Assert.Equal(a, await Election.CampaignAsync("e1", "http://a", leaseA.Id).WaitAsync(CampaignTimeout));

        await Election.ResignAsync(a);
        var leadershipB = await b.WaitAsync(CampaignTimeout);

        Assert.Equal("http://b", leadershipB.Value);
        Assert.True(leadershipB.Token > a.Token, $"token {leadershipB.Token} after {a.Token}");
        Assert.Equal(leadershipB.Info, await Election.GetLeaderAsync("e1"));
        Assert.Null(await Election.GetLeaderAsync("other-election"));
    }

    [Fact]
    public async Task Election_moves_to_the_next_candidate_when_the_leaders_lease_ends_and_fences_the_old_leader()
    {
        var other = await CreateSecondClientAsync();
        try
        {
            var leaseA = await Store.GrantLeaseAsync(LeaseTtl);
            Leadership a;
            await using (new KeepAlive(Store, leaseA))
            {
                a = await Election.CampaignAsync("e2", "a", leaseA.Id).WaitAsync(CampaignTimeout);
                Assert.True((await Store.TransactAsync([a.Fence], [KvOperation.Put("fenced/by-a", "1")])).Succeeded);
            }
            var sinceLastRenewal = System.Diagnostics.Stopwatch.StartNew();

            var leaseB = await other.Store.GrantLeaseAsync(LeaseTtl);
            await using var keepB = new KeepAlive(other.Store, leaseB);
            // A stops renewing (it crashed): B takes over once A's lease ends, never before its TTL.
            var b = await other.Election.CampaignAsync("e2", "b", leaseB.Id).WaitAsync(ExpiryDeadline + CampaignTimeout);

            Assert.True(sinceLastRenewal.Elapsed >= LeaseTtl - LeaseTtl / 4 - TimeSpan.FromMilliseconds(100),
                $"B led {sinceLastRenewal.Elapsed} after A stopped renewing (TTL {LeaseTtl}, renewed every quarter)");
            Assert.True(b.Token > a.Token, $"token {b.Token} after {a.Token}");
            Assert.False((await Store.TransactAsync([a.Fence], [KvOperation.Put("fenced/by-a", "2")])).Succeeded, "the deposed leader wrote");
            Assert.True((await other.Store.TransactAsync([b.Fence], [KvOperation.Put("fenced/by-b", "1")])).Succeeded);
            Assert.Equal("1", (await Store.GetAsync("fenced/by-a"))?.Value);
            Assert.Equal(new LeaderInfo("e2", "b", b.Token), await Election.GetLeaderAsync("e2"));
            await Assert.ThrowsAsync<KvLeaseNotFoundException>(() => Election.CampaignAsync("e2", "a", leaseA.Id).WaitAsync(CampaignTimeout));
        }
        finally
        {
            if (other.Cleanup is not null) await other.Cleanup.DisposeAsync();
        }
    }

    [Fact]
    public async Task Election_tokens_strictly_increase_over_many_terms()
    {
        var tokens = new List<long>();
        for (var term = 0; term < 5; term++)
        {
            var lease = await Store.GrantLeaseAsync(LeaseTtl * 5);
            var leadership = await Election.CampaignAsync("e3", $"term {term}", lease.Id).WaitAsync(CampaignTimeout);
            tokens.Add(leadership.Token);
            if (term % 2 == 0) await Election.ResignAsync(leadership);
            await Store.RevokeLeaseAsync(lease.Id);
        }
        for (var i = 1; i < tokens.Count; i++) Assert.True(tokens[i] > tokens[i - 1], string.Join(", ", tokens));
    }

    [Fact]
    public async Task Election_observers_see_each_leader_change_then_no_leader()
    {
        await using var observer = new WatchRecorder<LeaderInfo?>(ct => Election.ObserveAsync("e4", ct));
        await observer.WaitForCountAsync(1, CampaignTimeout);
        var leaseA = await Store.GrantLeaseAsync(LeaseTtl);
        var leaseB = await Store.GrantLeaseAsync(LeaseTtl);
        await using var keepA = new KeepAlive(Store, leaseA);
        await using var keepB = new KeepAlive(Store, leaseB);

        var a = await Election.CampaignAsync("e4", "a", leaseA.Id).WaitAsync(CampaignTimeout);
        await observer.WaitUntilAsync(items => items[^1] == a.Info, CampaignTimeout, "leader a");
        var bCampaign = Election.CampaignAsync("e4", "b", leaseB.Id);
        await Election.ResignAsync(a);
        var b = await bCampaign.WaitAsync(CampaignTimeout);
        await observer.WaitUntilAsync(items => items[^1] == b.Info, CampaignTimeout, "leader b");
        await Election.ResignAsync(b);
        var seen = await observer.WaitUntilAsync(items => items.Count > 0 && items[^1] is null && items.Contains(b.Info), CampaignTimeout, "no leader");

        // B may not have queued yet when A resigned, so a moment without a leader in between is allowed.
        Assert.Equal([a.Info, b.Info], seen.Where(l => l is not null));
        Assert.Null(seen[0]);
        Assert.Null(seen[^1]);
        for (var i = 1; i < seen.Count; i++) Assert.NotEqual(seen[i - 1], seen[i]);
    }

    [Fact]
    public async Task Election_candidate_that_stops_waiting_withdraws()
    {
        var leaseA = await Store.GrantLeaseAsync(LeaseTtl);
        var leaseB = await Store.GrantLeaseAsync(LeaseTtl);
        var leaseC = await Store.GrantLeaseAsync(LeaseTtl);
        await using var keepA = new KeepAlive(Store, leaseA);
        await using var keepB = new KeepAlive(Store, leaseB);
        await using var keepC = new KeepAlive(Store, leaseC);
        var a = await Election.CampaignAsync("e5", "a", leaseA.Id).WaitAsync(CampaignTimeout);

        using (var giveUp = new CancellationTokenSource(LeaseTtl / 2))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Election.CampaignAsync("e5", "b", leaseB.Id, giveUp.Token));
        var c = Election.CampaignAsync("e5", "c", leaseC.Id);
        await Election.ResignAsync(a);

        Assert.Equal("c", (await c.WaitAsync(CampaignTimeout)).Value);
        Assert.Equal("c", (await Election.GetLeaderAsync("e5"))?.Value);
    }

    [Fact]
    public async Task Election_campaign_with_an_ended_lease_fails()
    {
        var lease = await Store.GrantLeaseAsync(LeaseTtl);
        await Store.RevokeLeaseAsync(lease.Id);

        await Assert.ThrowsAsync<KvLeaseNotFoundException>(() => Election.CampaignAsync("e6", "x", lease.Id).WaitAsync(CampaignTimeout));
        Assert.Null(await Election.GetLeaderAsync("e6"));
    }
}
