using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Agent.Replication;
using VirtualCluster.Agent.Supervision;
using VirtualCluster.Api;
using VirtualCluster.Replication.Sync;
using VirtualCluster.Replication.Volumes;

namespace VirtualCluster.Agent.Tests.Supervision;

/// <summary>A failover replacement starts on this node's replica of its volumes, or not at all when it is missing.</summary>
public sealed class VolumeSeedingTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("vc-seed-").FullName;
    private readonly string _source = Directory.CreateTempSubdirectory("vc-seed-src-").FullName;
    private readonly FakeWorkloadDriver _driver = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
    private ReplicaHost _host = null!;
    private VolumeReplication _volumes = null!;
    private InstanceSupervisor _supervisor = null!;

    private sealed class Anyone : IReplicaAuthenticator
    {
        public Task<(string? Sender, string? Error)> AuthenticateAsync(string token, string volumeId, CancellationToken cancellationToken = default) =>
            Task.FromResult<(string?, string?)>(("node-a", null));
    }

    public async Task InitializeAsync()
    {
        var options = new AgentOptions { Name = "node-1", DataDirectory = _data, MaxRestarts = 1 };
        _host = new ReplicaHost(options, new Anyone(), NullLoggerFactory.Instance);
        _host.Start();
        _volumes = new VolumeReplication(options, () => "t", TimeProvider.System, NullLoggerFactory.Instance);
        _supervisor = new InstanceSupervisor([_driver], new HealthProbe(new HttpClient()), _time, options, NullLogger.Instance)
        {
            Replicas = _host,
            Volumes = _volumes,
        };
        _supervisor.SetNode("node-abc");
        // This node holds a replica of volume set journal-old, written at epoch 3.
        await File.WriteAllTextAsync(Path.Combine(_source, "records.log"), "record 1\nrecord 2\n");
        await new DirectorySyncSender(_source).SyncAsync(new TcpSyncTransport(new IPEndPoint(IPAddress.Loopback, _host.Port!.Value), "journal-old.data", 3, () => "t"));
    }

    public async Task DisposeAsync()
    {
        await _volumes.DisposeAsync();
        await _host.DisposeAsync();
        Directory.Delete(_data, recursive: true);
        Directory.Delete(_source, recursive: true);
    }

    private static Assignment Journal(string id, string set) => new(id, 9, new ServiceSpec
    {
        Name = "journal", Driver = "process", Command = "x", Volumes = [new VolumeSpec("data", "/data", 2)],
    }, new Dictionary<string, int>(), set, [new ReplicaHolder("node-h", "127.0.0.1", 1)]);

    [Fact]
    public async Task A_replacement_starts_on_the_local_replica_and_says_so()
    {
        await _supervisor.ApplyAsync([Journal("journal-new", "journal-old")], default);

        Assert.Single(_driver.Started);
        Assert.Equal("record 1\nrecord 2\n", await File.ReadAllTextAsync(Path.Combine(_volumes.VolumePath("journal-new", "data"), "records.log")));
        var seeded = Assert.Single(_supervisor.PendingEvents(10), e => e.Kind == EventKinds.VolumeSeeded);
        Assert.Equal("journal-new", seeded.InstanceId);
        Assert.Contains("epoch 3", seeded.Message);
    }

    [Fact]
    public async Task An_inherited_volume_set_without_a_local_replica_does_not_start_empty()
    {
        await _supervisor.ApplyAsync([Journal("journal-new", "journal-gone")], default);

        Assert.Empty(_driver.Started);
        var report = Assert.Single(await _supervisor.ReportAsync(new Dictionary<string, long>(), default));
        Assert.Contains("holds no replica of volume set journal-gone", report.Reason);
        Assert.False(Directory.Exists(_volumes.VolumePath("journal-new", "data")));
    }

    [Fact]
    public async Task An_instance_with_a_volume_set_of_its_own_starts_empty()
    {
        await _supervisor.ApplyAsync([Journal("journal-own", "journal-own")], default);
        Assert.Single(_driver.Started);
        Assert.DoesNotContain(_supervisor.PendingEvents(10), e => e.Kind == EventKinds.VolumeSeeded);
    }
}
