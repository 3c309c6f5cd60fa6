using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Runtime;

namespace VirtualCluster.ControlPlane.Tests.Store;

/// <summary>Records with every field set to something other than its default, and deep comparisons.</summary>
internal static class StoreTestData
{
    public static readonly DateTimeOffset Time = new(2031, 3, 4, 5, 6, 7, 891, TimeSpan.FromHours(2));

    public static NodeInfo Node(string id, string? name = null, DateTimeOffset? heartbeat = null) => new(
        Id: id,
        Name: name ?? $"name-{id}",
        Address: "10.0.0.7",
        Capacity: new Resources(4000, 8L << 30, 100L << 30),
        Usage: new ResourceUsage(1250, 3L << 30, 40L << 30),
        Drivers: ["process", "docker"],
        Ports: new PortRange(20000, 20999),
        Labels: new Dictionary<string, string> { ["zone"] = "a", ["disk"] = "ssd" },
        State: NodeState.Suspect,
        LastHeartbeat: heartbeat);

    public static ServiceSpec FullSpec(string name) => new()
    {
        Name = name,
        Driver = "process",
        Image = null,
        Command = "/usr/bin/dotnet",
        Args = ["run", "--urls", "http://+:8080", "ünïcode ✓"],
        WorkingDirectory = "apps/hello",
        Replicas = 3,
        Resources = new Resources(250, 64L << 20, 1L << 30),
        Ports = [new PortSpec("http"), new PortSpec("admin", 9000)],
        Env = new Dictionary<string, string> { ["GREETING"] = "hi \"there\"", ["EMPTY"] = "" },
        Volumes = [new VolumeSpec("data", "/var/data")],
        HealthCheck = new HealthCheckSpec(HealthCheckType.Tcp, "http", "/healthz", TimeSpan.FromSeconds(7.5), TimeSpan.FromMilliseconds(1500)),
        RestartPolicy = RestartPolicy.OnFailure,
        Placement = new PlacementSpec(new Dictionary<string, string> { ["zone"] = "a" }),
    };

    public static ServiceSpec MinimalSpec(string name) => new() { Name = name, Driver = "docker", Image = "nginx:1.27" };

    public static ServiceRecord Service(string name, long version = 1) => new(FullSpec(name), Time, version);

    public static ServiceInstance Instance(string id, string service, string nodeId = "node-1", InstanceState state = InstanceState.Running, int? pid = 4242) => new(
        Id: id,
        Service: service,
        NodeId: nodeId,
        Epoch: 17,
        Ports: new Dictionary<string, int> { ["http"] = 20001, ["admin"] = 20002 },
        State: state,
        Reason: "health check passed",
        CreatedAt: Time,
        UpdatedAt: Time.AddMinutes(3),
        RestartCount: 2,
        Pid: pid);

    public static LogLine Line(long sequence, string? text = null) =>
        new(sequence, Time.AddSeconds(sequence), sequence % 2 == 0 ? "stderr" : "stdout", text ?? $"line {sequence}");

    public static void AssertEquivalent(NodeInfo expected, NodeInfo? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Address, actual.Address);
        Assert.Equal(expected.Capacity, actual.Capacity);
        Assert.Equal(expected.Usage, actual.Usage);
        Assert.Equal(expected.Drivers, actual.Drivers);
        Assert.Equal(expected.Ports, actual.Ports);
        AssertSameEntries(expected.Labels, actual.Labels);
        Assert.Equal(expected.State, actual.State);
        AssertSameInstant(expected.LastHeartbeat, actual.LastHeartbeat);
        AssertSameJson(expected, actual);
    }

    public static void AssertEquivalent(ServiceSpec expected, ServiceSpec? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Driver, actual.Driver);
        Assert.Equal(expected.Image, actual.Image);
        Assert.Equal(expected.Command, actual.Command);
        Assert.Equal(expected.Args, actual.Args);
        Assert.Equal(expected.WorkingDirectory, actual.WorkingDirectory);
        Assert.Equal(expected.Replicas, actual.Replicas);
        Assert.Equal(expected.Resources, actual.Resources);
        Assert.Equal(expected.Ports, actual.Ports);
        AssertSameEntries(expected.Env, actual.Env);
        Assert.Equal(expected.Volumes, actual.Volumes);
        Assert.Equal(expected.HealthCheck, actual.HealthCheck);
        Assert.Equal(expected.RestartPolicy, actual.RestartPolicy);
        AssertSameEntries(expected.Placement.Constraints, actual.Placement.Constraints);
        AssertSameJson(expected, actual);
    }

    public static void AssertEquivalent(ServiceRecord expected, ServiceRecord? actual)
    {
        Assert.NotNull(actual);
        AssertEquivalent(expected.Spec, actual.Spec);
        AssertSameInstant(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.Version, actual.Version);
    }

    public static void AssertEquivalent(ServiceInstance expected, ServiceInstance? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Service, actual.Service);
        Assert.Equal(expected.NodeId, actual.NodeId);
        Assert.Equal(expected.Epoch, actual.Epoch);
        AssertSameEntries(expected.Ports, actual.Ports);
        Assert.Equal(expected.State, actual.State);
        Assert.Equal(expected.Reason, actual.Reason);
        AssertSameInstant(expected.CreatedAt, actual.CreatedAt);
        AssertSameInstant(expected.UpdatedAt, actual.UpdatedAt);
        Assert.Equal(expected.RestartCount, actual.RestartCount);
        Assert.Equal(expected.Pid, actual.Pid);
        AssertSameJson(expected, actual);
    }

    public static void AssertEquivalent(LogLine expected, LogLine actual)
    {
        Assert.Equal(expected.Sequence, actual.Sequence);
        AssertSameInstant(expected.Timestamp, actual.Timestamp);
        Assert.Equal(expected.Stream, actual.Stream);
        Assert.Equal(expected.Text, actual.Text);
    }

    public static void AssertSameInstant(DateTimeOffset? expected, DateTimeOffset? actual)
    {
        Assert.Equal(expected, actual); // DateTimeOffset equality compares the instant...
        Assert.Equal(expected?.Offset, actual?.Offset); // ...so check the offset survived as well.
    }

    private static void AssertSameEntries<TValue>(IReadOnlyDictionary<string, TValue> expected, IReadOnlyDictionary<string, TValue> actual) =>
        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), actual.OrderBy(e => e.Key, StringComparer.Ordinal));

    // Catches fields added to the records later that the explicit checks above do not know yet.
    private static void AssertSameJson<T>(T expected, T actual) =>
        Assert.Equal(JsonSerializer.Serialize(expected, VirtualClusterJson.Options), JsonSerializer.Serialize(actual, VirtualClusterJson.Options));
}
