using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Membership.Embedded;
using VirtualCluster.Monitoring.History;
using VirtualCluster.Store;

namespace VirtualCluster.Monitoring.Tests;

/// <summary>Metrics history on the real embedded key-value store (SQLite), in virtual time.</summary>
public sealed class MetricsHistoryTests : IDisposable
{
    private static readonly string[] Names = ["cpu", "instances"];
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-history-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly SqliteKeyValueStore _store;

    public MetricsHistoryTests() => _store = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(_dir, "state.db") }, TimeProvider.System); // its lease sweeper on real time: virtual days would run it millions of times

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private MetricsHistory NewHistory(IKeyValueStore? store = null, Action<HistoryOptions>? configure = null)
    {
        var options = new HistoryOptions();
        configure?.Invoke(options);
        Assert.True(new HistoryOptionsValidator().Validate(null, options).Succeeded);
        return new MetricsHistory(store ?? _store, Options.Create(options), _time, NullLogger<MetricsHistory>.Instance);
    }

    private async Task<int> StoredBlocksAsync() => (await _store.ListAsync("metrics-history/")).Entries.Count;

    [Fact]
    public async Task A_simulated_month_stays_within_the_bound_and_every_resolution_answers_with_the_right_values()
    {
        var history = NewHistory(configure: o => { o.FlushInterval = TimeSpan.FromHours(1); });
        var start = _time.GetUtcNow();
        var maxBlocks = 0;
        // 32 days of 10-second samples of two series; a node's cpu is its day number (so every point's average is known)
        for (var t = TimeSpan.Zero; t < TimeSpan.FromDays(32); t += TimeSpan.FromSeconds(10))
        {
            _time.SetUtcNow(start + t);
            var dayNumber = (int)t.TotalDays;
            await history.RecordAsync("node/a", _time.GetUtcNow(), Names, [dayNumber, 1]);
            await history.RecordAsync("node/b", _time.GetUtcNow(), Names, [100 + dayNumber, 2]);
            if (t.Ticks % TimeSpan.FromHours(1).Ticks == 0) await history.FlushAsync();
            if (t.Ticks % TimeSpan.FromHours(6).Ticks == 0)
            {
                await history.SweepAsync();
                maxBlocks = Math.Max(maxBlocks, await StoredBlocksAsync());
            }
        }
        await history.FlushAsync();
        // right after a sweep, per series, each tier holds at most retention / block + 2 blocks (the one being filled
        // and the one ending)
        var bound = 2 * (6 + 2 + (12 + 2) + (31 + 2));
        Assert.InRange(maxBlocks, 20, bound);

        var now = _time.GetUtcNow();
        var hour = await history.QueryAsync("node/a", "cpu", now - TimeSpan.FromHours(1), now, TimeSpan.FromSeconds(10));
        Assert.Equal("10s", hour.Resolution);
        Assert.InRange(hour.Points.Count, 355, 361);
        Assert.All(hour.Points, p => Assert.Equal(31, p.Average));

        var day = await history.QueryAsync("node/b", "cpu", now - TimeSpan.FromHours(23), now, TimeSpan.FromMinutes(1));
        Assert.Equal("1m", day.Resolution);
        Assert.InRange(day.Points.Count, 23 * 60 - 2, 23 * 60 + 1);

        var month = await history.QueryAsync("node/a", "cpu", now - TimeSpan.FromDays(30), now, TimeSpan.FromDays(1));
        Assert.Equal("15m", month.Resolution);
        Assert.Equal(86400, month.StepSeconds);
        Assert.InRange(month.Points.Count, 30, 31);
        foreach (var p in month.Points) Assert.Equal((p.At - start).TotalDays, p.Average, 6); // day n averages n
        Assert.All(month.Points, p => Assert.Equal(p.Average, p.Max, 6));

        // an hour asked for at a 10-second step a week ago comes from the 15-minute tier, the only one that reaches back
        var old = await history.QueryAsync("node/a", "instances", now - TimeSpan.FromDays(7), now - TimeSpan.FromDays(7) + TimeSpan.FromHours(1), TimeSpan.FromSeconds(10));
        Assert.Equal("15m", old.Resolution);
        Assert.Equal(900, old.StepSeconds);
        Assert.InRange(old.Points.Count, 4, 5);
        Assert.All(old.Points, p => Assert.Equal(1, p.Average));
    }

    [Fact]
    public async Task A_new_leader_reads_the_history_and_goes_on_filling_the_open_buckets()
    {
        var first = NewHistory();
        var start = _time.GetUtcNow();
        // samples 0..89 at 10 s: one and a half minutes; the second minute's bucket is half full when the leader changes
        for (var i = 0; i < 9; i++)
        {
            _time.SetUtcNow(start + TimeSpan.FromSeconds(10 * i));
            await first.RecordAsync("service/web", _time.GetUtcNow(), Names, [i, 0]);
        }
        await first.FlushAsync();

        var second = NewHistory(); // another control plane (or this one restarted) over the same store
        for (var i = 9; i < 12; i++)
        {
            _time.SetUtcNow(start + TimeSpan.FromSeconds(10 * i));
            await second.RecordAsync("service/web", _time.GetUtcNow(), Names, [i, 0]);
        }
        await second.FlushAsync();

        var third = NewHistory(); // what is stored, read by a control plane that recorded nothing
        var minutes = await third.QueryAsync("service/web", "cpu", start, start + TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(1));
        Assert.Equal("1m", minutes.Resolution);
        Assert.Equal(2, minutes.Points.Count);
        Assert.Equal(2.5, minutes.Points[0].Average); // 0..5
        Assert.Equal(8.5, minutes.Points[1].Average); // 6..11: three samples before the change, three after
        Assert.Equal(11, minutes.Points[1].Max);
        var raw = await third.QueryAsync("service/web", "cpu", start, start + TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (double)i), raw.Points.Select(p => p.Average));
    }

    [Fact]
    public async Task Blocks_that_could_not_be_written_are_written_at_the_next_flush()
    {
        var flaky = new UnavailableStore(_store);
        var history = NewHistory(flaky);
        await history.RecordAsync("node/a", _time.GetUtcNow(), Names, [0.5, 1]);
        flaky.Down = true;
        Assert.Equal(0, await history.FlushAsync());
        Assert.Equal(0, await StoredBlocksAsync());
        // still answered from memory while the store is away
        var now = _time.GetUtcNow();
        Assert.Single((await history.QueryAsync("node/a", "cpu", now - TimeSpan.FromMinutes(1), now, TimeSpan.FromSeconds(10))).Points);
        flaky.Down = false;
        Assert.Equal(3, await history.FlushAsync()); // one block per tier
        Assert.Equal(3, await StoredBlocksAsync());
    }

    [Fact]
    public async Task A_corrupt_stored_block_is_skipped_and_replaced()
    {
        var now = _time.GetUtcNow();
        var key = $"metrics-history/0/{Uri.EscapeDataString("node/a")}/{now.ToUnixTimeSeconds() - now.ToUnixTimeSeconds() % 600:D12}";
        await _store.TransactAsync([], [KvOperation.Put(key, "{\"names\":[\"cpu\"],\"times\":[1],\"average\":[]")]);
        var history = NewHistory();
        Assert.Empty((await history.QueryAsync("node/a", "cpu", now - TimeSpan.FromMinutes(10), now, TimeSpan.FromSeconds(10))).Points);
        await history.RecordAsync("node/a", now, Names, [0.25, 1]);
        await history.FlushAsync();
        var again = NewHistory();
        var point = Assert.Single((await again.QueryAsync("node/a", "cpu", now - TimeSpan.FromMinutes(10), now, TimeSpan.FromSeconds(10))).Points);
        Assert.Equal(0.25, point.Average);
    }

    [Theory]
    [InlineData(0, 60, 0, "step is 0 s; it must be at least 1 second")]
    [InlineData(60, 60, 10, "the range is empty")]
    [InlineData(0, 90 * 86400, 86400, "history is kept for 31 days")]
    [InlineData(0, 86400, 1, "at most 11000 are answered")]
    public void Bad_ranges_are_refused_with_the_field_named(int fromSeconds, int toSeconds, int stepSeconds, string expected)
    {
        var history = NewHistory();
        var origin = _time.GetUtcNow();
        var problem = history.CheckRange(origin.AddSeconds(fromSeconds), origin.AddSeconds(toSeconds), TimeSpan.FromSeconds(stepSeconds));
        Assert.NotNull(problem);
        Assert.Contains(expected, problem);
    }

    [Fact]
    public void Options_that_cannot_work_are_refused_at_start()
    {
        var bad = new HistoryOptions { FlushInterval = TimeSpan.Zero, Tiers = [new(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(90), TimeSpan.FromHours(1)), new(TimeSpan.FromSeconds(30), TimeSpan.FromHours(1), TimeSpan.FromDays(1))] };
        var result = new HistoryOptionsValidator().Validate(null, bad);
        Assert.True(result.Failed);
        Assert.Contains("FlushInterval", result.FailureMessage);
        Assert.Contains("Tiers[0].BlockLength", result.FailureMessage);
        Assert.Contains("Tiers[1].Step", result.FailureMessage);
    }

    /// <summary>A stand-in that fails writes while <see cref="Down"/>, over the real store (for the retry path only).</summary>
    private sealed class UnavailableStore(IKeyValueStore inner) : IKeyValueStore
    {
        public bool Down { get; set; }
        public Task<KvEntry?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);
        public Task<KvPage> ListAsync(string prefix, string? startKey = null, int limit = 0, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, startKey, limit, cancellationToken);
        public Task<KvTransactionResult> TransactAsync(IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations, CancellationToken cancellationToken = default) =>
            Down ? throw new KeyValueStoreUnavailableException("store is down (test)") : inner.TransactAsync(conditions, operations, cancellationToken);
        public IAsyncEnumerable<KvEvent> WatchAsync(string prefix, long afterRevision, CancellationToken cancellationToken = default) => inner.WatchAsync(prefix, afterRevision, cancellationToken);
        public Task<KvLease> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default) => inner.GrantLeaseAsync(ttl, cancellationToken);
        public Task<bool> KeepAliveAsync(string leaseId, CancellationToken cancellationToken = default) => inner.KeepAliveAsync(leaseId, cancellationToken);
        public Task RevokeLeaseAsync(string leaseId, CancellationToken cancellationToken = default) => inner.RevokeLeaseAsync(leaseId, cancellationToken);
    }
}
