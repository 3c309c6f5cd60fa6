using System.Collections.Concurrent;
using VirtualCluster.Store;

namespace VirtualCluster.Conformance.Tests;

// The key-value store: reads, writes, revisions, compare-and-set, transactions.
public abstract partial class ProviderConformanceTests
{
    [Fact]
    public async Task Kv_missing_key_is_null_and_a_put_is_read_back_with_its_revisions()
    {
        Assert.Null(await Store.GetAsync("a/missing"));

        var first = await Store.PutAsync("a/key", "one");
        var created = await Store.GetAsync("a/key");
        Assert.Equal(new KvEntry("a/key", "one", first, first), created);

        var second = await Store.PutAsync("a/key", "two ✓");
        Assert.True(second > first, $"revision {second} after {first}");
        Assert.Equal(new KvEntry("a/key", "two ✓", first, second), await Store.GetAsync("a/key"));
    }

    [Fact]
    public async Task Kv_get_many_answers_each_key_in_order_with_null_for_missing_ones_as_single_gets_do()
    {
        await Store.PutAsync("many/a", "1");
        await Store.PutAsync("many/b", "2");
        string[] keys = ["many/b", "many/missing", "many/a", "many/b"];

        var many = await Store.GetManyAsync(keys);
        var single = new List<KvEntry?>();
        foreach (var key in keys) single.Add(await Store.GetAsync(key));

        Assert.Equal(single, many);
        Assert.Equal(["2", null, "1", "2"], many.Select(e => e?.Value));
        Assert.Empty(await Store.GetManyAsync([]));
    }

    [Fact]
    public async Task Kv_revisions_strictly_increase_across_keys_and_deletes_and_a_recreated_key_gets_a_new_create_revision()
    {
        var r1 = await Store.PutAsync("k/1", "x");
        var r2 = await Store.PutAsync("k/2", "x");
        await Store.DeleteAsync("k/1");
        var deleted = (await Store.ListAsync("k/")).Revision;
        var r3 = await Store.PutAsync("k/1", "y");

        Assert.True(r1 < r2 && r2 < deleted && deleted < r3, $"{r1} {r2} {deleted} {r3}");
        Assert.Equal(r3, (await Store.GetAsync("k/1"))!.CreateRevision);
    }

    [Fact]
    public async Task Kv_list_returns_only_the_prefix_in_key_order_with_start_key_and_limit()
    {
        foreach (var key in new[] { "list/c", "list/a", "list/b/1", "list/b", "lisp/x", "list0" }) await Store.PutAsync(key, key.ToUpperInvariant());

        var page = await Store.ListAsync("list/");
        Assert.Equal(["list/a", "list/b", "list/b/1", "list/c"], page.Entries.Select(e => e.Key));
        Assert.Equal("LIST/B/1", page.Entries[2].Value);
        Assert.True(page.Revision >= page.Entries.Max(e => e.ModRevision));

        Assert.Equal(["list/b", "list/b/1"], (await Store.ListAsync("list/", "list/b", 2)).Entries.Select(e => e.Key));
        Assert.Equal(["list/c"], (await Store.ListAsync("list/", "list/bz", 0)).Entries.Select(e => e.Key));
        Assert.Empty((await Store.ListAsync("nothing/")).Entries);
    }

    [Fact]
    public async Task Kv_create_if_absent_succeeds_exactly_once_among_concurrent_callers()
    {
        var winners = new ConcurrentBag<string>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 12), async (i, ct) =>
        {
            var result = await Store.CompareAndSetAsync("cas/once", $"v{i}", 0, cancellationToken: ct);
            if (result.Succeeded) winners.Add($"v{i}");
            else Assert.NotNull(result.Current);
        });

        var winner = Assert.Single(winners);
        Assert.Equal(winner, (await Store.GetAsync("cas/once"))!.Value);
    }

    [Fact]
    public async Task Kv_cas_with_a_stale_revision_fails_changes_nothing_and_returns_the_current_entry()
    {
        var r1 = await Store.PutAsync("cas/k", "1");
        var r2 = await Store.PutAsync("cas/k", "2");

        var stale = await Store.CompareAndSetAsync("cas/k", "3", r1);
        Assert.False(stale.Succeeded);
        Assert.Equal(new KvEntry("cas/k", "2", r1, r2), stale.Current);

        var fresh = await Store.CompareAndSetAsync("cas/k", "3", r2);
        Assert.True(fresh.Succeeded);
        Assert.True(fresh.Revision > r2);
        Assert.Equal("3", (await Store.GetAsync("cas/k"))!.Value);
        Assert.False((await Store.CompareAndSetAsync("cas/k", "4", 0)).Succeeded);
        Assert.False((await Store.CompareAndSetAsync("cas/absent", "4", r2)).Succeeded);
        Assert.Null(await Store.GetAsync("cas/absent"));
    }

    [Fact]
    public async Task Kv_concurrent_cas_increments_lose_no_update()
    {
        await Store.PutAsync("counter", "0");
        var conflicts = 0;

        await Parallel.ForEachAsync(Enumerable.Range(0, 6), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (_, ct) =>
        {
            for (var done = 0; done < 8;)
            {
                var entry = (await Store.GetAsync("counter", ct))!;
                var result = await Store.CompareAndSetAsync("counter", (int.Parse(entry.Value) + 1).ToString(), entry.ModRevision, cancellationToken: ct);
                if (result.Succeeded) done++;
                else Interlocked.Increment(ref conflicts);
            }
        });

        Assert.Equal("48", (await Store.GetAsync("counter"))!.Value);
    }

    [Fact]
    public async Task Kv_transaction_applies_all_operations_at_one_revision_or_none()
    {
        var guard = await Store.PutAsync("tx/guard", "g");
        await Store.PutAsync("tx/old", "o");
        await Store.PutAsync("tx/dir/a", "a");
        await Store.PutAsync("tx/dir/b", "b");

        var failed = await Store.TransactAsync([new KvCondition("tx/guard", guard + 1000)],
            [KvOperation.Put("tx/new", "n"), KvOperation.Delete("tx/old"), KvOperation.DeletePrefix("tx/dir/")]);
        Assert.False(failed.Succeeded);
        Assert.Equal(["tx/dir/a", "tx/dir/b", "tx/guard", "tx/old"], (await Store.ListAsync("tx/")).Entries.Select(e => e.Key));

        var applied = await Store.TransactAsync([new KvCondition("tx/guard", guard), KvCondition.Absent("tx/new")],
            [KvOperation.Put("tx/new", "n"), KvOperation.Put("tx/other", "x"), KvOperation.Delete("tx/old"), KvOperation.DeletePrefix("tx/dir/")]);
        Assert.True(applied.Succeeded);
        var after = (await Store.ListAsync("tx/")).Entries;
        Assert.Equal(["tx/guard", "tx/new", "tx/other"], after.Select(e => e.Key));
        Assert.Equal(applied.Revision, after.Single(e => e.Key == "tx/new").ModRevision);
        Assert.Equal(applied.Revision, after.Single(e => e.Key == "tx/other").ModRevision);
        Assert.True(applied.Revision > guard);
    }

    [Fact]
    public async Task Kv_transaction_with_failed_condition_reports_it_and_empty_deletes_succeed()
    {
        var result = await Store.TransactAsync([KvCondition.Absent("tx2/a")], [KvOperation.Delete("tx2/none"), KvOperation.DeletePrefix("tx2/empty/")]);
        Assert.True(result.Succeeded);

        await Store.PutAsync("tx2/a", "1");
        Assert.False((await Store.TransactAsync([KvCondition.Absent("tx2/a")], [KvOperation.Put("tx2/b", "2")])).Succeeded);
        Assert.Null(await Store.GetAsync("tx2/b"));
    }

    [Fact]
    public async Task Kv_delete_prefix_deletes_only_keys_under_the_prefix()
    {
        foreach (var key in new[] { "dp/a/1", "dp/a/2", "dp/ab", "dp/b" }) await Store.PutAsync(key, "x");

        await Store.TransactAsync([], [KvOperation.DeletePrefix("dp/a/")]);

        Assert.Equal(["dp/ab", "dp/b"], (await Store.ListAsync("dp/")).Entries.Select(e => e.Key));
    }

    [Fact]
    public async Task Kv_a_second_client_sees_every_committed_write()
    {
        var other = await CreateSecondClientAsync();
        try
        {
            var revision = await Store.PutAsync("shared/k", "from first");
            Assert.Equal("from first", (await other.Store.GetAsync("shared/k"))?.Value);
            var cas = await other.Store.CompareAndSetAsync("shared/k", "from second", revision);
            Assert.True(cas.Succeeded);
            Assert.Equal("from second", (await Store.GetAsync("shared/k"))?.Value);
        }
        finally
        {
            if (other.Cleanup is not null) await other.Cleanup.DisposeAsync();
        }
    }
}
