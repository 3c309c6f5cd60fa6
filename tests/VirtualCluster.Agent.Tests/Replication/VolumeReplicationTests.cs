using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Agent.Replication;
using VirtualCluster.Api;
using VirtualCluster.Replication.Volumes;

namespace VirtualCluster.Agent.Tests.Replication;

/// <summary>The agent's replicators follow its assignments: which volumes, which holders, which epoch; bad holders are skipped.</summary>
public sealed class VolumeReplicationTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("vc-agent-repl-").FullName;
    private readonly string _holderData = Directory.CreateTempSubdirectory("vc-agent-holder-").FullName;
    private ReplicaServer _server = null!;
    private VolumeReplication _replication = null!;

    private sealed class Anyone : IReplicaAuthenticator
    {
        public Task<(string? Sender, string? Error)> AuthenticateAsync(string token, string volumeId, CancellationToken cancellationToken = default) =>
            Task.FromResult<(string?, string?)>(token == "good" ? ("node-a", null) : (null, "bad token"));
    }

    public Task InitializeAsync()
    {
        _server = new ReplicaServer(new IPEndPoint(IPAddress.Loopback, 0), _holderData, new Anyone());
        _replication = new VolumeReplication(new AgentOptions { DataDirectory = _data }, () => "good", TimeProvider.System, NullLoggerFactory.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _replication.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_holderData, recursive: true);
    }

    private static Assignment Journal(string id, long epoch, string? set, params ReplicaHolder[] holders) => new(id, epoch, new ServiceSpec
    {
        Name = "journal", Driver = "process", Command = "x",
        Volumes = [new VolumeSpec("data", "/data", 1, TimeSpan.FromMilliseconds(200)), new VolumeSpec("scratch", "/tmp")],
    }, new Dictionary<string, int>(), set, holders);

    private ReplicaHolder Holder(string node = "node-h", int? port = null) => new(node, "127.0.0.1", port ?? _server.EndPoint.Port);

    private string Volume(string instance, string name)
    {
        var path = _replication.VolumePath(instance, name);
        Directory.CreateDirectory(path);
        return path;
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException(what);
            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task Replicated_volumes_reach_their_holders_and_stop_with_the_assignment()
    {
        await File.WriteAllTextAsync(Path.Combine(Volume("journal-1", "data"), "records.log"), "record 1\n");
        Volume("journal-1", "scratch");
        var assignment = Journal("journal-1", 5, "journal-1", Holder(), Holder("node-self"));

        await _replication.ApplyAsync([assignment], "node-self", _ => true);

        var replica = Path.Combine(_server.ReplicaPath("journal-1.data"), "records.log");
        await Eventually(() => File.Exists(replica) && File.ReadAllText(replica) == "record 1\n", "the replica");
        Assert.Equal(5, _server.Epoch("journal-1.data"));
        Assert.False(Directory.Exists(_server.ReplicaPath("journal-1.scratch"))); // no replicas asked for
        await Eventually(() => _replication.Report("journal-1") is [{ Sequence: > 0 }], "a completed sync reported");
        var report = Assert.Single(_replication.Report("journal-1")!);
        Assert.Equal(("data", "node-h", 5L), (report.Volume, report.Holder, report.Epoch)); // never to itself

        await _replication.ApplyAsync([], "node-self", _ => true);
        Assert.Null(_replication.Report("journal-1"));
    }

    [Fact]
    public async Task Nothing_runs_without_a_volume_set_a_volume_a_usable_holder_or_permission()
    {
        Volume("journal-2", "data");
        await _replication.ApplyAsync(
        [
            Journal("journal-2", 1, null, Holder()),                          // no volume set
            Journal("journal-3", 1, "journal-3", Holder()),                   // its volume does not exist yet
            Journal("journal-2", 1, "journal-2", Holder(port: 0), Holder(port: 70000), Holder("node-self")),
        ], "node-self", _ => true);
        Assert.Null(_replication.Report("journal-2"));
        Assert.Null(_replication.Report("journal-3"));

        await _replication.ApplyAsync([Journal("journal-2", 1, "journal-2", Holder())], "node-self", _ => false); // fenced
        Assert.Null(_replication.Report("journal-2"));

        // Positive control: the same assignment, allowed, replicates.
        await _replication.ApplyAsync([Journal("journal-2", 1, "journal-2", Holder())], "node-self", _ => true);
        Assert.NotNull(_replication.Report("journal-2"));
    }

    [Fact]
    public async Task A_new_epoch_replaces_the_replicator()
    {
        Volume("journal-4", "data");
        await _replication.ApplyAsync([Journal("journal-4", 1, "journal-4", Holder())], "node-self", _ => true);
        await _replication.ApplyAsync([Journal("journal-4", 2, "journal-4", Holder())], "node-self", _ => true);
        Assert.Equal(2, Assert.Single(_replication.Report("journal-4")!).Epoch);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(65536)]
    public void The_options_validator_names_a_bad_replica_port(int port)
    {
        var options = new AgentOptions { ServerUrl = "http://127.0.0.1:7070", DataDirectory = "/tmp/x", ReplicaPort = port };
        var result = new AgentOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("ReplicaPort", result.FailureMessage);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7946)]
    [InlineData(null)]
    public void Any_free_port_a_fixed_port_or_none_are_valid(int? port) =>
        Assert.True(new AgentOptionsValidator().Validate(null, new AgentOptions { ServerUrl = "http://127.0.0.1:7070", DataDirectory = "/tmp/x", ReplicaPort = port }).Succeeded);
}
