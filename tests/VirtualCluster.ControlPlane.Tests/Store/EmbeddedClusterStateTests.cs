using Microsoft.Data.Sqlite;
using VirtualCluster.ControlPlane.Store;
using VirtualCluster.Store;
using static VirtualCluster.ControlPlane.Tests.Store.StoreTestData;

namespace VirtualCluster.ControlPlane.Tests.Store;

/// <summary>The store contract on the embedded cluster state, and what is special to it: reopening, the lock, bad files.</summary>
public sealed class EmbeddedClusterStateTests : ClusterStoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-embedded-state-").FullName;
    private readonly List<EmbeddedClusterState> _opened = [];

    private string DataDirectory => Path.Combine(_directory, "nested", "data");

    private EmbeddedClusterState? _contractState;

    // Opened once, up front in the first call: the contract may ask for the store from many threads at once.
    // Its own directory, so the tests below open theirs freely.
    protected override IClusterStore CreateStore() =>
        (_contractState ??= EmbeddedClusterState.OpenAsync(Path.Combine(_directory, "contract")).GetAwaiter().GetResult()).Store;

    public EmbeddedClusterStateTests() => _ = Store;

    private EmbeddedClusterState Open()
    {
        var state = EmbeddedClusterState.OpenAsync(DataDirectory).GetAwaiter().GetResult();
        _opened.Add(state);
        return state;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        foreach (var state in _opened) state.Dispose();
        _contractState?.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Data_written_before_dispose_is_there_after_reopening_and_epochs_keep_rising()
    {
        long epoch;
        ClusterEvent appended;
        await using (var first = await EmbeddedClusterState.OpenAsync(DataDirectory))
        {
            await first.Store.UpsertNodeAsync(Node("node-1", heartbeat: Time));
            await first.Store.CreateServiceAsync(Service("hello"), [Instance("hello-1", "hello")]);
            await first.Store.AppendLogsAsync("hello-1", [Line(1), Line(2)]);
            appended = await first.Store.AppendEventAsync(new ClusterEvent(0, Time, "service.deployed", "hello", "deployed"));
            await first.Store.GetOrAddSettingAsync("signing-key", "secret");
            epoch = await first.Store.NextEpochAsync();
        }

        await using var second = await EmbeddedClusterState.OpenAsync(DataDirectory);
        AssertEquivalent(Node("node-1", heartbeat: Time), await second.Store.FindNodeAsync("node-1"));
        AssertEquivalent(Instance("hello-1", "hello"), Assert.Single(await second.Store.ListInstancesAsync(nodeId: "node-1")));
        Assert.Equal(2, (await second.Store.ReadLogsAsync("hello-1", 0, 10)).Count);
        Assert.Equal(appended, Assert.Single(await second.Store.ListEventsAsync(0, 10)));
        Assert.Equal("secret", await second.Store.GetSettingAsync("signing-key"));
        Assert.True(await second.Store.NextEpochAsync() > epoch);
        Assert.True(File.Exists(Path.Combine(DataDirectory, EmbeddedClusterState.FileName)));
    }

    [Fact]
    public async Task A_second_open_of_the_same_directory_is_refused_until_the_first_closes()
    {
        var first = await EmbeddedClusterState.OpenAsync(DataDirectory);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => EmbeddedClusterState.OpenAsync(DataDirectory));
        Assert.Contains(DataDirectory, error.Message, StringComparison.Ordinal);
        Assert.Contains("Another control plane", error.Message, StringComparison.Ordinal);

        await first.DisposeAsync();
        await using var second = await EmbeddedClusterState.OpenAsync(DataDirectory); // positive control: the lock is free again
        Assert.Empty(await second.Store.ListNodesAsync());
    }

    [Fact]
    public async Task Writes_after_dispose_are_refused()
    {
        var state = await EmbeddedClusterState.OpenAsync(DataDirectory);
        await state.DisposeAsync();
        await state.DisposeAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => state.Store.NextEpochAsync());
    }

    [Fact]
    public async Task An_old_cluster_db_that_is_not_a_database_gives_a_clear_error_naming_the_path()
    {
        Directory.CreateDirectory(DataDirectory);
        var path = Path.Combine(DataDirectory, "cluster.db");
        File.WriteAllText(path, "this is not a database, just some text that is long enough to have a header " + new string('x', 4096));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => EmbeddedClusterState.OpenAsync(DataDirectory));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        // The failed open let go of the lock: trying again fails for the same reason, not "another control plane".
        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => EmbeddedClusterState.OpenAsync(DataDirectory));
        Assert.Contains(path, again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_old_cluster_db_of_a_newer_schema_is_refused()
    {
        Directory.CreateDirectory(DataDirectory);
        Execute(Path.Combine(DataDirectory, "cluster.db"), "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO settings VALUES ('schema_version', '99');");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => EmbeddedClusterState.OpenAsync(DataDirectory));

        Assert.Contains("99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_old_version_1_cluster_db_is_imported_with_its_events()
    {
        Directory.CreateDirectory(DataDirectory);
        Execute(Path.Combine(DataDirectory, "cluster.db"), """
            CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO settings VALUES ('schema_version', '1');
            CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL);
            INSERT INTO events (ts, kind, subject, message) VALUES ('2030-01-01T00:00:00.0000000+00:00', 'node.down', 'node-1', 'old');
            """);

        IClusterStore store = Open().Store;

        var old = Assert.Single(await store.ListEventsAsync(0, 10));
        Assert.Equal(("node.down", "node-1", null), (old.Kind, old.Subject, old.Node));
        Assert.Single(await store.QueryEventsAsync(new EventQuery { Node = "node-1" }));
        Assert.Equal(2, (await store.AppendEventAsync(new ClusterEvent(0, Time, "instance.placed", "web", "new"))).Sequence);
    }

    private static void Execute(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
