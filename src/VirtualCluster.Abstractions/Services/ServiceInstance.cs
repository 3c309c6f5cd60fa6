using VirtualCluster.Api;

namespace VirtualCluster;

/// <summary>Lifecycle of one instance of a service.</summary>
public enum InstanceState
{
    /// <summary>Placed on a node; the agent has not reported it yet.</summary>
    Pending,
    /// <summary>The agent is starting it (or waiting for it to become healthy).</summary>
    Starting,
    /// <summary>Running and healthy.</summary>
    Running,
    /// <summary>Running but its health check fails.</summary>
    Unhealthy,
    /// <summary>Exited and will be restarted by policy.</summary>
    Restarting,
    /// <summary>Could not start or kept failing; <see cref="ServiceInstance.Reason"/> says why.</summary>
    Failed,
    /// <summary>Exited and will not be restarted.</summary>
    Exited,
    /// <summary>Stopped on purpose (removed, moved, drained).</summary>
    Stopped,
    /// <summary>Its node went down; a replacement is or will be placed.</summary>
    Lost,
    /// <summary>Its node stopped reporting and the instance stays there (failover "never", or a failover delay): state unknown until the node is back.</summary>
    Unknown,
}

/// <summary>
/// One placed copy of a service.
/// </summary>
/// <param name="Id">Unique id ("hello-1a2b3c4d").</param>
/// <param name="Service">Service name.</param>
/// <param name="NodeId">Node it is placed on.</param>
/// <param name="Epoch">Fencing token from the store, strictly increasing per cluster; a newer epoch wins over a stale copy.</param>
/// <param name="Ports">Assigned host port per named port.</param>
/// <param name="State">Last known state.</param>
/// <param name="Reason">Why it is in that state, readable by a user (empty when nothing to say).</param>
/// <param name="CreatedAt">When it was placed.</param>
/// <param name="UpdatedAt">When its state last changed.</param>
/// <param name="RestartCount">Restarts by the agent since placement.</param>
/// <param name="Pid">Process id on the node, when the driver has one.</param>
/// <param name="Replaces">Id of the instance this one takes over from (drain, failover, replacement of a failed one), if any.</param>
/// <param name="Incident">Id of the latest failover incident this instance is part of: the one that placed it, or its own failure.</param>
/// <param name="VolumeSet">
/// For a service with replicated volumes: the id of the volume set this instance owns, the id of the first instance
/// of its line. A failover replacement inherits it, so the replicas (named <c>&lt;set&gt;.&lt;volume&gt;</c> on their holders) follow it.
/// </param>
/// <param name="ReplicaHolders">Node ids that keep replicas of its volumes (other nodes, different zones when possible).</param>
/// <param name="Syncs">The last completed sync per volume and holder, as its agent reported it.</param>
/// <param name="MoveRequested">
/// A drain moves it and it has replicated volumes: its agent stops it, syncs its volumes one last time and reports it
/// Stopped; then its replacement starts on the freshest replica (break before make, so no write is lost).
/// </param>
public sealed record ServiceInstance(
    string Id,
    string Service,
    string NodeId,
    long Epoch,
    IReadOnlyDictionary<string, int> Ports,
    InstanceState State,
    string Reason,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int RestartCount = 0,
    int? Pid = null,
    string? Replaces = null,
    string? Incident = null,
    string? VolumeSet = null,
    IReadOnlyList<string>? ReplicaHolders = null,
    IReadOnlyList<VolumeSyncReport>? Syncs = null,
    bool MoveRequested = false)
{
    /// <summary>True for states after which the instance never runs again.</summary>
    public bool IsTerminal => State is InstanceState.Failed or InstanceState.Exited or InstanceState.Stopped or InstanceState.Lost;
}

/// <summary>A stored service: its spec and bookkeeping.</summary>
/// <param name="Spec">The validated spec.</param>
/// <param name="CreatedAt">When it was first deployed.</param>
/// <param name="Version">Incremented on every change to the spec.</param>
public sealed record ServiceRecord(ServiceSpec Spec, DateTimeOffset CreatedAt, long Version);
