using Microsoft.Data.Sqlite;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.Store;
using static VirtualCluster.ControlPlane.Tests.Store.StoreTestData;

namespace VirtualCluster.ControlPlane.Tests.Store;

public sealed class SqliteClusterStoreTests : ClusterStoreContractTests
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "vc-store-tests", Guid.NewGuid().ToString("N"));
    private readonly List<SqliteClusterStore> opened = [];

    private string DatabasePath => Path.Combine(directory, "nested", "cluster.db");

    protected override IClusterStore CreateStore() => Open();

    private SqliteClusterStore Open(SqliteStoreOptions? options = null, string? path = null)
    {
        var store = new SqliteClusterStore(path ?? DatabasePath, options);
        opened.Add(store);
        return store;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        foreach (var store in opened) store.Dispose();
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void Creates_missing_directories_and_the_schema()
    {
        using var store = new SqliteClusterStore(DatabasePath);

        Assert.True(File.Exists(DatabasePath));
        Assert.Equal(DatabasePath, store.Path);
        Assert.Equal("wal", Scalar("PRAGMA journal_mode"));
        Assert.Equal("2", Scalar("SELECT value FROM settings WHERE key = 'schema_version'"));
        foreach (var table in new[] { "nodes", "services", "instances", "events", "logs", "settings", "counters" })
            Assert.Equal(table, Scalar($"SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{table}'"));
    }

    [Fact]
    public async Task Data_written_before_dispose_is_there_after_reopening()
    {
        long epoch;
        ClusterEvent appended;
        using (var first = new SqliteClusterStore(DatabasePath))
        {
            await first.UpsertNodeAsync(Node("node-1", heartbeat: Time));
            await first.CreateServiceAsync(Service("hello"), [Instance("hello-1", "hello")]);
            await first.AppendLogsAsync("hello-1", [Line(1), Line(2)]);
            appended = await first.AppendEventAsync(new ClusterEvent(0, Time, "service.deployed", "hello", "deployed"));
            await first.GetOrAddSettingAsync("signing-key", "secret");
            epoch = await first.NextEpochAsync();
        }

        using var second = new SqliteClusterStore(DatabasePath);
        AssertEquivalent(Node("node-1", heartbeat: Time), await second.FindNodeAsync("node-1"));
        AssertEquivalent(Service("hello"), await second.GetServiceAsync("hello"));
        AssertEquivalent(Instance("hello-1", "hello"), Assert.Single(await second.ListInstancesAsync()));
        Assert.Equal(2, await second.LastLogSequenceAsync("hello-1"));
        Assert.Equal([appended], await second.ListEventsAsync(0, 10));
        Assert.Equal("secret", await second.GetSettingAsync("signing-key"));
        Assert.True(await second.NextEpochAsync() > epoch);
        Assert.True((await second.AppendEventAsync(appended)).Sequence > appended.Sequence);
    }

    [Fact]
    public async Task Epochs_are_not_reused_across_many_reopens()
    {
        var seen = new HashSet<long>();
        for (var round = 0; round < 5; round++)
        {
            using var store = new SqliteClusterStore(DatabasePath);
            for (var i = 0; i < 10; i++) Assert.True(seen.Add(await store.NextEpochAsync()));
        }
        Assert.Equal(50, seen.Count);
    }

    [Fact]
    public async Task Two_stores_on_one_file_hand_out_distinct_epochs()
    {
        // Like two processes: separate write gates, so SQLite's own locking and busy timeout decide.
        var a = Open();
        var b = Open();
        var epochs = new System.Collections.Concurrent.ConcurrentBag<long>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 400), async (i, ct) => epochs.Add(await (i % 2 == 0 ? a : b).NextEpochAsync(ct)));

        Assert.Equal(400, epochs.Distinct().Count());
    }

    [Fact]
    public async Task Failure_part_way_through_create_leaves_nothing()
    {
        var store = Open();
        await store.CreateServiceAsync(Service("taken"), [Instance("shared-id", "taken")]);

        // The second instance collides after the service row and the first instance were written.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.CreateServiceAsync(Service("hello"), [Instance("hello-1", "hello"), Instance("shared-id", "hello")]));

        Assert.Contains("shared-id", error.Message);
        Assert.Null(await store.GetServiceAsync("hello"));
        Assert.Equal(["shared-id"], (await store.ListInstancesAsync()).Select(i => i.Id));
        Assert.True(await store.CreateServiceAsync(Service("hello"), [Instance("hello-1", "hello")]));
    }

    [Fact]
    public async Task Duplicate_ids_within_one_create_leave_nothing()
    {
        var store = Open();

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.CreateServiceAsync(Service("hello"), [Instance("hello-1", "hello"), Instance("hello-1", "hello")]));

        Assert.Empty(await store.ListServicesAsync());
        Assert.Empty(await store.ListInstancesAsync());
    }

    [Fact]
    public async Task Instances_of_another_service_are_refused()
    {
        var store = Open();

        await Assert.ThrowsAsync<ArgumentException>(() => store.CreateServiceAsync(Service("hello"), [Instance("x-1", "x")]));
        Assert.Empty(await store.ListServicesAsync());
    }

    [Fact]
    public async Task Node_names_stay_unique()
    {
        var store = Open();
        await store.UpsertNodeAsync(Node("id-1", "alpha"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpsertNodeAsync(Node("id-2", "alpha")));

        Assert.Contains("alpha", error.Message);
        Assert.Equal(["id-1"], (await store.ListNodesAsync()).Select(n => n.Id));
    }

    [Fact]
    public async Task Logs_are_trimmed_to_the_configured_bound()
    {
        var store = Open(new SqliteStoreOptions { MaxLogLinesPerInstance = 5 });

        await store.AppendLogsAsync("i-1", [.. Enumerable.Range(1, 8).Select(i => Line(i))]);
        await store.AppendLogsAsync("i-1", [Line(9), Line(10), Line(1, "old line resent")]);
        await store.AppendLogsAsync("i-2", [Line(1)]);

        Assert.Equal([6L, 7, 8, 9, 10], (await store.ReadLogsAsync("i-1", 0, 100)).Select(l => l.Sequence));
        Assert.Equal(10, await store.LastLogSequenceAsync("i-1"));
        Assert.Single(await store.ReadLogsAsync("i-2", 0, 100));
    }

    [Fact]
    public async Task Logs_are_trimmed_to_2000_lines_by_default()
    {
        Assert.Equal(2000, new SqliteStoreOptions().MaxLogLinesPerInstance);
        var store = Open();

        await store.AppendLogsAsync("i-1", [.. Enumerable.Range(1, 1500).Select(i => Line(i))]);
        await store.AppendLogsAsync("i-1", [.. Enumerable.Range(1501, 1000).Select(i => Line(i))]);

        var lines = await store.ReadLogsAsync("i-1", 0, 5000);
        Assert.Equal(2000, lines.Count);
        Assert.Equal(501, lines[0].Sequence);
        Assert.Equal(2500, lines[^1].Sequence);
    }

    [Fact]
    public void A_file_that_is_not_a_database_gives_a_clear_error_naming_the_path()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        File.WriteAllText(DatabasePath, "this is not a database, just some text that is long enough to have a header " + new string('x', 4096));

        var error = Assert.Throws<InvalidOperationException>(() => new SqliteClusterStore(DatabasePath));

        Assert.Contains(DatabasePath, error.Message);
        Assert.Contains("not a SQLite database", error.Message);
    }

    [Fact]
    public void A_newer_schema_version_is_refused()
    {
        using (var store = new SqliteClusterStore(DatabasePath)) { }
        Execute("UPDATE settings SET value = '99' WHERE key = 'schema_version'");

        var error = Assert.Throws<InvalidOperationException>(() => new SqliteClusterStore(DatabasePath));

        Assert.Contains("99", error.Message);
        Assert.Contains(DatabasePath, error.Message);
    }

    [Fact]
    public async Task A_version_1_file_is_migrated_and_keeps_its_events()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        Execute("""
            CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO settings VALUES ('schema_version', '1');
            CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL);
            INSERT INTO events (ts, kind, subject, message) VALUES ('2030-01-01T00:00:00.0000000+00:00', 'node.down', 'node-1', 'old');
            """);

        var store = Open();

        Assert.Equal("2", Scalar("SELECT value FROM settings WHERE key = 'schema_version'"));
        var old = Assert.Single(await store.ListEventsAsync(0, 10));
        Assert.Equal(("node.down", "node-1", null), (old.Kind, old.Subject, old.Node));
        Assert.Single(await store.QueryEventsAsync(new EventQuery { Node = "node-1" }));
        var added = await store.AppendEventAsync(new ClusterEvent(0, Time, "instance.placed", "web", "new", "web", "node-2", "web-1", "inc-1"));
        Assert.Equal(added, Assert.Single(await store.QueryEventsAsync(new EventQuery { Incident = "inc-1" })));
    }

    [Fact]
    public async Task Operations_after_dispose_throw()
    {
        var store = new SqliteClusterStore(DatabasePath);
        store.Dispose();
        store.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.ListNodesAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.NextEpochAsync());
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteClusterStore(DatabasePath, new SqliteStoreOptions { MaxLogLinesPerInstance = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteClusterStore(DatabasePath, new SqliteStoreOptions { BusyTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => new SqliteClusterStore(" "));
    }

    private string? Scalar(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar()?.ToString();
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
