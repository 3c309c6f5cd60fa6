using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Membership.Embedded;
using VirtualCluster.Store;

namespace VirtualCluster.Conformance.Tests;

/// <summary>What only the embedded store promises: durability across reopening, bounded history, virtual time.</summary>
public sealed class EmbeddedStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-embedded-store-").FullName;

    private EmbeddedMembershipOptions Options(int history = 10_000) =>
        new() { Path = Path.Combine(_directory, "nested", "kv.db"), HistoryRevisions = history };

    [Fact]
    public async Task Keys_and_revisions_survive_reopening_and_revisions_keep_increasing()
    {
        long before;
        await using (var store = new SqliteKeyValueStore(Options()))
        {
            await store.PutAsync("a", "1");
            before = await store.PutAsync("a", "2");
        }
        await using (var reopened = new SqliteKeyValueStore(Options()))
        {
            Assert.Equal("2", (await reopened.GetAsync("a"))?.Value);
            Assert.True(await reopened.PutAsync("b", "x") > before);
        }
    }

    [Fact]
    public async Task Watch_from_a_trimmed_revision_throws_compacted()
    {
        await using var store = new SqliteKeyValueStore(Options(history: 5));
        var first = await store.PutAsync("k", "0");
        for (var i = 1; i < 20; i++) await store.PutAsync("k", i.ToString());

        var error = await Assert.ThrowsAsync<KvHistoryCompactedException>(async () =>
        {
            await foreach (var _ in store.WatchAsync("", first)) { }
        });
        Assert.True(error.CompactedRevision > first);

        var current = (await store.ListAsync("")).Revision;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var recent = store.WatchAsync("", current - 3, timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await recent.MoveNextAsync());
        Assert.Equal(current - 2, recent.Current.Revision);
    }

    [Fact]
    public async Task Keys_under_an_unwatched_prefix_keep_no_old_versions_for_watches_and_read_as_usual()
    {
        await using var store = new SqliteKeyValueStore(Options());
        var start = (await store.ListAsync("")).Revision;
        var block = new string('x', 20_000);
        for (var i = 0; i < 50; i++) await store.PutAsync("metrics-history/node/a", block + i);
        await store.DeleteAsync("metrics-history/node/a");
        await store.PutAsync("metrics-history/node/b", "kept");
        await store.PutAsync("watched/a", "1"); // positive control: a watched key's change is an event

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var watch = store.WatchAsync("", start, timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(("watched/a", "1"), (watch.Current.Key, watch.Current.Value));
        Assert.Equal("kept", (await store.GetAsync("metrics-history/node/b"))?.Value);
        Assert.Null(await store.GetAsync("metrics-history/node/a"));
        Assert.Equal(["metrics-history/node/b"], (await store.ListAsync("metrics-history/")).Entries.Select(e => e.Key));

        // An empty prefix would hide every change from watches: refused.
        var error = Assert.Throws<ArgumentException>(() => new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Options().Path, UnwatchedPrefixes = [""] }));
        Assert.Contains("UnwatchedPrefixes", error.Message);
    }

    [Fact]
    public async Task Leases_expire_on_the_injected_time_provider()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var store = new SqliteKeyValueStore(Options(), time);
        var lease = await store.GrantLeaseAsync(TimeSpan.FromSeconds(30));
        await store.PutAsync("leased", "x", lease.Id);

        time.Advance(TimeSpan.FromSeconds(29));
        Assert.True(await store.KeepAliveAsync(lease.Id));
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.NotNull(await store.GetAsync("leased"));
        time.Advance(TimeSpan.FromSeconds(2));

        Assert.Null(await store.GetAsync("leased"));
        Assert.False(await store.KeepAliveAsync(lease.Id));
    }

    [Fact]
    public void Invalid_options_name_each_problem()
    {
        var error = Assert.Throws<ArgumentException>(() => new SqliteKeyValueStore(new EmbeddedMembershipOptions { HistoryRevisions = 0 }));
        Assert.Contains("Path", error.Message);
        Assert.Contains("HistoryRevisions", error.Message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
