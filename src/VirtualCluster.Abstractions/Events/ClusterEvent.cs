namespace VirtualCluster;

/// <summary>
/// Something that happened in the cluster, kept in the event log.
/// </summary>
/// <param name="Sequence">Position in the log, strictly increasing (0 before it is stored).</param>
/// <param name="Timestamp">When it happened.</param>
/// <param name="Kind">Machine-readable kind, e.g. "service.deployed", "instance.started", "node.down".</param>
/// <param name="Subject">What it is about: a service, instance or node name.</param>
/// <param name="Message">Readable sentence.</param>
public sealed record ClusterEvent(long Sequence, DateTimeOffset Timestamp, string Kind, string Subject, string Message);
