namespace VirtualCluster.Scheduling.Tests;

/// <summary>Builds nodes and specs for scheduler tests.</summary>
internal static class SchedulingKit
{
    public const long Gi = 1L << 30;
    public const long Mi = 1L << 20;

    public static NodeCandidate Node(
        string name,
        long cpu = 4000,
        long memory = 8 * Gi,
        long disk = 100 * Gi,
        Resources allocated = default,
        NodeState state = NodeState.Alive,
        string[]? drivers = null,
        PortRange? ports = null,
        int[]? usedPorts = null,
        Dictionary<string, string>? labels = null)
    {
        var info = new NodeInfo(
            Id: "id-" + name,
            Name: name,
            Address: "10.0.0.1",
            Capacity: new Resources(cpu, memory, disk),
            Usage: default,
            Drivers: drivers ?? ["process"],
            Ports: ports ?? new PortRange(20000, 20099),
            Labels: labels ?? [],
            State: state,
            LastHeartbeat: null);
        return new NodeCandidate(info, allocated, (usedPorts ?? []).ToHashSet(), []);
    }

    public static ServiceSpec Spec(
        string name = "web", long cpu = 100, long memory = 64 * Mi, long disk = 0, int ports = 1,
        string driver = "process", Dictionary<string, string>? constraints = null) => new()
        {
            Name = name,
            Driver = driver,
            Command = driver == "process" ? "run" : null,
            Image = driver == "docker" ? "image" : null,
            Resources = new Resources(cpu, memory, disk),
            Ports = [.. Enumerable.Range(0, ports).Select(i => new PortSpec(i == 0 ? "http" : $"p{i}"))],
            Placement = constraints is null ? PlacementSpec.None : new PlacementSpec(constraints),
        };

    public static PlacementResult Place(ServiceSpec spec, int count, params NodeCandidate[] nodes) =>
        new BestFitScheduler().Place(new PlacementRequest(spec, count, nodes));
}
