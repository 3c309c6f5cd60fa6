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

    [Fact]
    public async Task Prefix_lists_and_deletes_match_an_ordinal_prefix_test_at_the_edges_of_the_key_range()
    {
        // The store answers prefixes from an index range (last character raised by one) plus an exact test; these
        // keys sit on both sides of every such bound, including characters the range leaves to the exact test.
        string[] keys =
        [
            "svc/a", "svc/a/1", "svc/a/2", "svc/a0", "svc/a\u00ff", "svc/b", "svc/", "svc", "svb/z", "svd",
            "na\u00efve/1", "na\u00efve0", "x/\uD7FE", "x/\uD7FF", "x/\uD7FF/1", "x/\uE000", "x/\uD83D\uDE00", "x/\uD83D\uDE00/1", "x/\uD83D\uDE01", "x/\uFFFF",
        ];
        string[] prefixes = ["", "svc", "svc/", "svc/a", "svc/a/", "svc/b", "na\u00efve", "x/\uD7FE", "x/\uD7FF", "x/\uD83D\uDE00", "x/\uFFFF", "zzz"];
        await using var store = new SqliteKeyValueStore(Options());
        foreach (var key in keys) await store.PutAsync(key, "v");

        foreach (var prefix in prefixes)
        {
            // Keys are ordered by their UTF-8 bytes (as etcd orders them), which differs from UTF-16 order past U+D7FF.
            var expected = keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(Utf8Order).ToList();
            var listed = (await store.ListAsync(prefix)).Entries.Select(e => e.Key).ToList();
            Assert.Equal(expected, listed);
            // A start key inside, before and after the range narrows it as a filter would.
            foreach (var start in new[] { prefix, prefix + "/", "", "\uFFFF" })
            {
                var from = keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && Utf8Order.Compare(k, start) >= 0).Order(Utf8Order).ToList();
                Assert.Equal(from, (await store.ListAsync(prefix, start)).Entries.Select(e => e.Key).ToList());
            }
        }

        await store.TransactAsync([], [KvOperation.DeletePrefix("svc/a")]);
        var left = (await store.ListAsync("")).Entries.Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(keys.Where(k => !k.StartsWith("svc/a", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal), left);
    }

    private static readonly Comparer<string> Utf8Order = Comparer<string>.Create((a, b) =>
        System.Text.Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(b)));

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
