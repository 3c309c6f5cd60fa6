namespace VirtualCluster;

/// <summary>
/// Something that happened in the cluster, kept in the event log.
/// </summary>
/// <param name="Sequence">Position in the log, strictly increasing (0 before it is stored).</param>
/// <param name="Timestamp">When it happened.</param>
/// <param name="Kind">Machine-readable kind, e.g. "service.deployed", "instance.running", "node.down" (see <see cref="EventKinds"/>).</param>
/// <param name="Subject">What it is about: a service, instance or node name.</param>
/// <param name="Message">Readable sentence.</param>
/// <param name="Service">Service it concerns, if any.</param>
/// <param name="Node">Name of the node it concerns, if any.</param>
/// <param name="Instance">Instance id it concerns, if any.</param>
/// <param name="Incident">Failover incident it belongs to, if any: every event from detection to the replacement being healthy shares it.</param>
public sealed record ClusterEvent(
    long Sequence,
    DateTimeOffset Timestamp,
    string Kind,
    string Subject,
    string Message,
    string? Service = null,
    string? Node = null,
    string? Instance = null,
    string? Incident = null);

/// <summary>Event kinds written by the control plane. Instance state changes are "instance." + the state in lower case.</summary>
public static class EventKinds
{
    /// <summary>A user (or the admin token) changed something through the API: who, from which address, what, and the answer.</summary>
    public const string Audit = "audit";
    /// <summary>A service was deployed.</summary>
    public const string ServiceDeployed = "service.deployed";
    /// <summary>A deploy did not fit.</summary>
    public const string ServiceRejected = "service.rejected";
    /// <summary>A service was removed.</summary>
    public const string ServiceRemoved = "service.removed";
    /// <summary>Instances of a service wait for room (placement retried with backoff).</summary>
    public const string ServicePending = "service.pending";
    /// <summary>The control plane stopped replacing failed instances of a service (failover maxAttempts reached).</summary>
    public const string ServiceGaveUp = "service.gave-up";
    /// <summary>An alert started firing (a built-in rule's condition held for its duration).</summary>
    public const string AlertFiring = "alert.firing";
    /// <summary>A firing alert's condition cleared.</summary>
    public const string AlertResolved = "alert.resolved";
    /// <summary>A node joined for the first time.</summary>
    public const string NodeJoined = "node.joined";
    /// <summary>A known node joined again.</summary>
    public const string NodeRejoined = "node.rejoined";
    /// <summary>A node's heartbeats are late (φ above the suspect threshold).</summary>
    public const string NodeSuspect = "node.suspect";
    /// <summary>A node was declared down: the detection step of a failover incident.</summary>
    public const string NodeDown = "node.down";
    /// <summary>A node that was suspect or down reports again.</summary>
    public const string NodeAlive = "node.alive";
    /// <summary>A drain started.</summary>
    public const string NodeDraining = "node.draining";
    /// <summary>A drain finished: nothing movable is left on the node.</summary>
    public const string NodeDrained = "node.drained";
    /// <summary>A drain was cancelled.</summary>
    public const string NodeDrainCancelled = "node.drain-cancelled";
    /// <summary>A node left on purpose.</summary>
    public const string NodeLeft = "node.left";
    /// <summary>A new instance was placed on a node.</summary>
    public const string InstancePlaced = "instance.placed";
    /// <summary>An instance's node is down; it will be replaced.</summary>
    public const string InstanceLost = "instance.lost";
    /// <summary>An instance with replicated volumes is stopping on a draining node for a final sync; its replacement starts on the replica.</summary>
    public const string InstanceMoving = "instance.moving";
    /// <summary>An instance was moved off a draining node (its replacement is healthy).</summary>
    public const string InstanceMoved = "instance.moved";
    /// <summary>An agent stopped a singleton by itself after losing the control plane for longer than its lease.</summary>
    public const string InstanceFenced = "instance.fenced";
    /// <summary>A failover replacement starts on a holder's replica of its volumes; the message names the sync it starts from.</summary>
    public const string VolumeRestored = "volume.restored";
    /// <summary>A failover replacement of an instance with replicated volumes starts with empty volumes (no holder had room).</summary>
    public const string VolumeNotRestored = "volume.not-restored";
    /// <summary>An agent filled a new instance's volume from its local replica before starting it.</summary>
    public const string VolumeSeeded = "volume.seeded";
    /// <summary>Syncs of a volume to one holder started failing (the message says why); the lag grows until they work again.</summary>
    public const string VolumeSyncFailed = "volume.sync-failed";
    /// <summary>Syncs of a volume to one holder fail because the holder's disk is full: free space there or move the holder.</summary>
    public const string VolumeHolderFull = "volume.holder-full";
    /// <summary>Syncs of a volume to one holder work again after failing.</summary>
    public const string VolumeSyncRecovered = "volume.sync-recovered";
    /// <summary>An instance reached the Failed state.</summary>
    public const string InstanceFailed = "instance.failed";
    /// <summary>An instance reached the Starting state: its process runs, its health check has not passed yet.</summary>
    public const string InstanceStarting = "instance.starting";
    /// <summary>An instance is running and healthy.</summary>
    public const string InstanceRunning = "instance.running";
}

/// <summary>
/// A filter over the event log. All conditions must hold. <see cref="Kind"/> matches a kind exactly or, when it
/// has no dot, every kind of that family ("node" matches "node.down"). <see cref="Node"/> matches events about the
/// node itself and events about instances on it; <see cref="Service"/> matches events about the service and its instances.
/// </summary>
public sealed record EventQuery
{
    /// <summary>Largest <see cref="Limit"/> a store must honour.</summary>
    public const int MaxLimit = 5_000;

    /// <summary>Only events with a sequence above this.</summary>
    public long AfterSequence { get; init; }

    /// <summary>At most this many events, oldest first. Default 200.</summary>
    public int Limit { get; init; } = 200;

    /// <summary>Only events about this service.</summary>
    public string? Service { get; init; }

    /// <summary>Only events about this node (by name).</summary>
    public string? Node { get; init; }

    /// <summary>Only events of this kind or family.</summary>
    public string? Kind { get; init; }

    /// <summary>Only events of this incident.</summary>
    public string? Incident { get; init; }

    /// <summary>Only events at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>True when <paramref name="e"/> passes every condition except the sequence and limit.</summary>
    public bool Matches(ClusterEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (Since is { } since && e.Timestamp < since) return false;
        if (Incident is not null && e.Incident != Incident) return false;
        if (Kind is not null && !KindMatches(Kind, e.Kind)) return false;
        if (Service is not null && e.Service != Service && !(e.Service is null && !IsNodeKind(e.Kind) && e.Subject == Service)) return false;
        if (Node is not null && e.Node != Node && !(e.Node is null && IsNodeKind(e.Kind) && e.Subject == Node)) return false;
        return true;
    }

    /// <summary>Exact kind, or a family without a dot: "node" matches "node.down".</summary>
    public static bool KindMatches(string filter, string kind) =>
        filter.Contains('.', StringComparison.Ordinal)
            ? string.Equals(filter, kind, StringComparison.Ordinal)
            : kind.StartsWith(filter + ".", StringComparison.Ordinal) || kind == filter;

    private static bool IsNodeKind(string kind) => kind.StartsWith("node.", StringComparison.Ordinal);
}
