namespace VirtualCluster.Runtime.Docker;

/// <summary>
/// Labels the driver puts on every container it creates. They mark ownership, so an agent only lists, adopts and
/// removes its own containers (same cluster and node), and carry what a restarted agent needs to adopt one.
/// </summary>
public static class ContainerLabels
{
    /// <summary>Prefix of every label.</summary>
    public const string Prefix = "io.virtualcluster.";

    /// <summary>The cluster (see <see cref="DockerDriverOptions.Cluster"/>).</summary>
    public const string Cluster = Prefix + "cluster";

    /// <summary>The node (see <see cref="DockerDriverOptions.Node"/>).</summary>
    public const string Node = Prefix + "node";

    /// <summary>Service name.</summary>
    public const string Service = Prefix + "service";

    /// <summary>Instance id.</summary>
    public const string Instance = Prefix + "instance";

    /// <summary>Fencing epoch the instance was started with.</summary>
    public const string Epoch = Prefix + "epoch";

    /// <summary>Log sequence before this container's first line, so re-read output keeps its sequence numbers.</summary>
    public const string LogBase = Prefix + "log-base";
}

internal static class LabelReading
{
    /// <summary>The label's value, or null when the container has no such label.</summary>
    public static string? Label(this IDictionary<string, string>? labels, string key) =>
        labels is not null && labels.TryGetValue(key, out var value) ? value : null;
}
