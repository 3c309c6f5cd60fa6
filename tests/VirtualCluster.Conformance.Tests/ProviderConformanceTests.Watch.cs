using VirtualCluster.Store;

namespace VirtualCluster.Conformance.Tests;

// Watches and leases.
public abstract partial class ProviderConformanceTests
{
    private static readonly TimeSpan WatchTimeout = TimeSpan.FromSeconds(20);

    private static string Describe(KvEvent e) => $"{e.Kind} {e.Key}={e.Value}";

    [Fact]
    public async Task Watch_delivers_every_change_after_the_revision_in_order_and_nothing_outside_the_prefix()
    {
        await Store.PutAsync("w/before", "old");
        var start = (await Store.ListAsync("w/")).Revision;
        await using var watch = new WatchRecorder<KvEvent>(ct => Store.WatchAsync("w/", start, ct));

        await Store.PutAsync("w/a", "1");
        await Store.PutAsync("other/x", "not watched");
        await Store.PutAsync("w/a", "2");
        await Store.PutAsync("w/a", "3");
        await Store.TransactAsync([], [KvOperation.Put("w/b", "b"), KvOperation.Put("w/c", "c")]);
        await Store.DeleteAsync("w/before");
        await Store.TransactAsync([], [KvOperation.DeletePrefix("w/")]);

        await watch.WaitForCountAsync(9, WatchTimeout);
        await Task.Delay(300);
        var events = watch.Items;
        Assert.Equal(
            ["Put w/a=1", "Put w/a=2", "Put w/a=3", "Put w/b=b", "Put w/c=c", "Delete w/before=", "Delete w/a=", "Delete w/b=", "Delete w/c="],
            events.Select(Describe));
        Assert.All(events, e => Assert.True(e.Revision > start));
        Assert.Equal(events[3].Revision, events[4].Revision); // one transaction, one revision
        for (var i = 1; i < events.Count; i++) Assert.True(events[i].Revision >= events[i - 1].Revision);
        Assert.Equal(events[6].Revision, events[8].Revision);
        Assert.True(events[2].Revision > events[1].Revision && events[1].Revision > events[0].Revision);
    }

    [Fact]
    public async Task Watch_from_an_older_revision_replays_the_changes_since()
    {
        var start = (await Store.ListAsync("replay/")).Revision;
        await Store.PutAsync("replay/a", "1");
        await Store.PutAsync("replay/a", "2");
        await Store.DeleteAsync("replay/a");

        await using var watch = new WatchRecorder<KvEvent>(ct => Store.WatchAsync("replay/", start, ct));

        var events = await watch.WaitForCountAsync(3, WatchTimeout);
        Assert.Equal(["Put replay/a=1", "Put replay/a=2", "Delete replay/a="], events.Select(Describe));
    }

    [Fact]
    public async Task Watch_resumed_from_the_last_revision_seen_misses_and_repeats_nothing_across_a_reconnect()
    {
        var start = (await Store.ListAsync("r/")).Revision;
        var expected = new List<string>();
        var seen = new List<KvEvent>();

        var watch = new WatchRecorder<KvEvent>(ct => Store.WatchAsync("r/", start, ct));
        for (var i = 0; i < 4; i++)
        {
            await Store.PutAsync("r/k", $"v{i}");
            expected.Add($"Put r/k=v{i}");
        }
        seen.AddRange(await watch.WaitForCountAsync(4, WatchTimeout));
        await watch.DisposeAsync(); // the consumer goes away...

        // ...changes happen meanwhile, including while the provider's connection to its server is broken...
        await Store.PutAsync("r/k", "while away 1");
        await Store.TransactAsync([], [KvOperation.Put("r/j", "j"), KvOperation.Delete("r/k")]);
        await InterruptConnectionAsync();
        await Store.PutAsync("r/k", "while away 2");
        expected.AddRange(["Put r/k=while away 1", "Put r/j=j", "Delete r/k=", "Put r/k=while away 2"]);

        // ...and it resumes from the last revision it handled.
        await using (var resumed = new WatchRecorder<KvEvent>(ct => Store.WatchAsync("r/", seen[^1].Revision, ct)))
        {
            seen.AddRange(await resumed.WaitForCountAsync(4, WatchTimeout));
            // A running watch keeps going across a broken connection.
            await InterruptConnectionAsync();
            await Store.PutAsync("r/j", "after restart");
            await Store.DeleteAsync("r/j");
            expected.AddRange(["Put r/j=after restart", "Delete r/j="]);
            var all = await resumed.WaitForCountAsync(6, WatchTimeout);
            seen.AddRange(all.Skip(4));
            await Task.Delay(200);
            Assert.Equal(6, resumed.Items.Count);
        }

        Assert.Equal(expected, seen.Select(Describe));
        for (var i = 1; i < seen.Count; i++) Assert.True(seen[i].Revision >= seen[i - 1].Revision, $"revision went back at {i}");
    }

    [Fact]
    public async Task Lease_keys_disappear_when_the_lease_expires_and_a_watch_sees_the_delete()
    {
        var granting = DateTime.UtcNow;
        var lease = await Store.GrantLeaseAsync(LeaseTtl);
        Assert.True(lease.Ttl >= LeaseTtl - TimeSpan.FromMilliseconds(1), $"granted {lease.Ttl}, asked {LeaseTtl}");
        KvEntry? entry;
        var keepAlive = new KeepAlive(Store, lease);
        await using (keepAlive)
        {
            await Store.PutAsync("lease/a", "a", lease.Id);
            await Store.PutAsync("lease/b", "b", lease.Id);
            await Store.PutAsync("lease/keep", "no lease");
            entry = await Store.GetAsync("lease/a");
            Assert.Equal(lease.Id, entry!.LeaseId);
        }
        // The lease may end a TTL after its last renewal (or its grant), not before.
        var lastRenewal = keepAlive.LastRenewalStarted == DateTime.MinValue ? granting : keepAlive.LastRenewalStarted;
        await using var watch = new WatchRecorder<KvEvent>(ct => Store.WatchAsync("lease/", entry.ModRevision, ct));

        var events = await watch.WaitForCountAsync(4, ExpiryDeadline);

        var lived = DateTime.UtcNow - lastRenewal;
        Assert.True(lived >= LeaseTtl - TimeSpan.FromMilliseconds(100), $"keys vanished {lived.TotalMilliseconds:F0} ms after the last renewal, before the TTL");
        Assert.Equal(["Put lease/b=b", "Put lease/keep=no lease", "Delete lease/a=", "Delete lease/b="], events.Select(Describe));
        Assert.Null(await Store.GetAsync("lease/a"));
        Assert.Null(await Store.GetAsync("lease/b"));
        Assert.NotNull(await Store.GetAsync("lease/keep"));
        Assert.False(await Store.KeepAliveAsync(lease.Id));
        await Assert.ThrowsAsync<KvLeaseNotFoundException>(() => Store.PutAsync("lease/c", "c", lease.Id));
        Assert.Null(await Store.GetAsync("lease/c"));
    }

    [Fact]
    public async Task Lease_kept_alive_outlives_its_ttl_and_revoking_it_deletes_its_keys_at_once()
    {
        var lease = await Store.GrantLeaseAsync(LeaseTtl);
        await Store.PutAsync("kept/a", "a", lease.Id);
        await Store.PutAsync("kept/b", "b", lease.Id);

        var until = DateTime.UtcNow + LeaseTtl * 2;
        while (DateTime.UtcNow < until)
        {
            Assert.True(await Store.KeepAliveAsync(lease.Id));
            await Task.Delay(LeaseTtl / 4);
        }
        Assert.Equal(2, (await Store.ListAsync("kept/")).Entries.Count);

        await Store.RevokeLeaseAsync(lease.Id);
        Assert.Empty((await Store.ListAsync("kept/")).Entries);
        Assert.False(await Store.KeepAliveAsync(lease.Id));
        await Store.RevokeLeaseAsync(lease.Id); // no-op
    }

    [Fact]
    public async Task Lease_put_without_a_lease_detaches_the_key()
    {
        var lease = await Store.GrantLeaseAsync(LeaseTtl * 5);
        await Store.PutAsync("detach/k", "leased", lease.Id);
        await Store.PutAsync("detach/k", "plain");

        await Store.RevokeLeaseAsync(lease.Id);

        var entry = await Store.GetAsync("detach/k");
        Assert.Equal("plain", entry?.Value);
        Assert.Null(entry?.LeaseId);
    }
}
