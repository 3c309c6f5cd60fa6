namespace VirtualCluster.Scheduling;

/// <summary>
/// One-line builders for the scheduler's inputs, for tests, samples and simulations:
/// <c>Build.Node("node-1", cpu: 4000, memory: 8 * Build.Gi, labels: "zone=eu,disk=ssd")</c>,
/// <c>Build.Spec("api", cpu: 500, memory: 512 * Build.Mi, ports: 1)</c>.
/// </summary>
public static class Build
{
    /// <summary>Bytes in a gibibyte.</summary>
    public const long Gi = 1L << 30;

    /// <summary>Bytes in a mebibyte.</summary>
    public const long Mi = 1L << 20;

    /// <summary>
    /// An Alive node (id "id-" + name) with this capacity, the given drivers (comma-separated), labels ("k=v,k=v"),
    /// host ports 20000 up to 20000 + <paramref name="ports"/> − 1, what it already reserves, the ports it already
    /// uses and the services it runs.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or a label is not "key=value".</exception>
    public static NodeCandidate Node(string name, long cpu = 4000, long memory = 8 * Gi, long disk = 100 * Gi, int gpus = 0,
        string labels = "", string drivers = "process", int ports = 1000, Resources allocated = default,
        IEnumerable<int>? usedPorts = null, IEnumerable<string>? services = null, NodeState state = NodeState.Alive) =>
        Node(name, new Resources(cpu, memory, disk, gpus), labels, drivers, ports, allocated, usedPorts, services, state);

    /// <summary>The same with the capacity as one <see cref="Resources"/>.</summary>
    public static NodeCandidate Node(string name, Resources capacity, string labels = "", string drivers = "process", int ports = 1000,
        Resources allocated = default, IEnumerable<int>? usedPorts = null, IEnumerable<string>? services = null, NodeState state = NodeState.Alive)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var info = new NodeInfo("id-" + name, name, "127.0.0.1", capacity, default, Split(drivers),
            ports > 0 ? new PortRange(20000, 20000 + ports - 1) : new PortRange(1, 0), Labels(labels), state, null);
        return new NodeCandidate(info, allocated, new HashSet<int>(usedPorts ?? []), [.. services ?? []]);
    }

    /// <summary>
    /// A process service (command "run") asking for these resources and <paramref name="ports"/> named ports
    /// ("p0", "p1"...), with the given strategy, anti-affinity (default preferred, as the spec parser), label
    /// constraints ("k=v,k=v") and topology spread key (maxSkew 1).
    /// </summary>
    public static ServiceSpec Spec(string name, long cpu = 100, long memory = 128 * Mi, long disk = 0, int gpus = 0, int ports = 0,
        string strategy = PlacementStrategyNames.BinPack, AntiAffinityMode antiAffinity = AntiAffinityMode.Preferred,
        string constraints = "", string? spreadOver = null) =>
        Spec(name, new Resources(cpu, memory, disk, gpus), antiAffinity, ports, strategy, constraints, spreadOver);

    /// <summary>The same with the demand as one <see cref="Resources"/>.</summary>
    public static ServiceSpec Spec(string name, Resources demand, AntiAffinityMode antiAffinity = AntiAffinityMode.Preferred, int ports = 0,
        string strategy = PlacementStrategyNames.BinPack, string constraints = "", string? spreadOver = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfNegative(ports);
        return new ServiceSpec
        {
            Name = name,
            Driver = "process",
            Command = "run",
            Resources = demand,
            Ports = [.. Enumerable.Range(0, ports).Select(i => new PortSpec($"p{i}"))],
            Placement = new PlacementSpec(Labels(constraints))
            {
                Strategy = strategy,
                AntiAffinity = antiAffinity,
                TopologySpread = spreadOver is null ? [] : [new TopologySpread(spreadOver, 1)],
            },
        };
    }

    private static string[] Split(string list) => [.. (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static Dictionary<string, string> Labels(string pairs)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in Split(pairs))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new ArgumentException($"label \"{pair}\" is not key=value; write labels as \"zone=eu,disk=ssd\"", nameof(pairs));
            labels[pair[..eq]] = pair[(eq + 1)..];
        }
        return labels;
    }
}
