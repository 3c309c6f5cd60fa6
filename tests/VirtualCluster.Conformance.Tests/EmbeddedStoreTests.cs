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
