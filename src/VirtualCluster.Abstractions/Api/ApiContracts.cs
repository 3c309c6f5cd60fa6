using VirtualCluster.Runtime;
using VirtualCluster.Scheduling;

namespace VirtualCluster.Api;

// Wire contracts of the control plane's HTTP API (/v1). Shared by the control plane, agents and the CLI.

/// <summary>One problem with one field of a request.</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>Body of every 4xx/5xx answer.</summary>
/// <param name="Error">One readable sentence: what is wrong and how to fix it.</param>
/// <param name="Errors">Per-field problems, for validation failures.</param>
/// <param name="Placement">Why a deploy did not fit, for placement failures.</param>
public sealed record ApiError(string Error, IReadOnlyList<FieldError>? Errors = null, PlacementFailure? Placement = null);

/// <summary>An agent asks to join with a join token.</summary>
public sealed record JoinRequest(
    string JoinToken,
    string Name,
    string Address,
    Resources Capacity,
    IReadOnlyList<string> Drivers,
    PortRange Ports,
    IReadOnlyDictionary<string, string>? Labels);

/// <summary>The node id and machine token an agent uses from then on.</summary>
public sealed record JoinResponse(string NodeId, string Token);

/// <summary>What an agent reports about one instance it runs.</summary>
/// <param name="Logs">New output lines (after the cursor the control plane last returned).</param>
public sealed record InstanceReport(
    string InstanceId,
    long Epoch,
    InstanceState State,
    string Reason,
    int RestartCount,
    int? Pid,
    IReadOnlyList<LogLine> Logs);

/// <summary>Periodic report from an agent.</summary>
public sealed record HeartbeatRequest(
    ResourceUsage Usage,
    Resources Capacity,
    IReadOnlyList<string> Drivers,
    IReadOnlyList<InstanceReport> Instances);

/// <summary>An instance the agent must run.</summary>
public sealed record Assignment(string InstanceId, long Epoch, ServiceSpec Spec, IReadOnlyDictionary<string, int> Ports);

/// <summary>Answer to a heartbeat: the full desired set for this node (anything else must stop).</summary>
/// <param name="Assignments">Every instance this node must run.</param>
/// <param name="LogCursors">Highest stored log sequence per instance; send only newer lines.</param>
/// <param name="HeartbeatInterval">When to report next.</param>
public sealed record HeartbeatResponse(
    IReadOnlyList<Assignment> Assignments,
    IReadOnlyDictionary<string, long> LogCursors,
    TimeSpan HeartbeatInterval);

/// <summary>A node with its reservations.</summary>
public sealed record NodeView(NodeInfo Node, Resources Allocated, int Instances);

/// <summary>An instance with where to reach it.</summary>
/// <param name="Score">Its node's score when it was placed (total and per scorer), if this control plane placed it since it started.</param>
public sealed record InstanceView(ServiceInstance Instance, string NodeName, IReadOnlyList<string> Urls, NodeScore? Score = null);

/// <summary>A service with its instances.</summary>
public sealed record ServiceView(ServiceSpec Spec, DateTimeOffset CreatedAt, int Desired, int Running, IReadOnlyList<InstanceView> Instances);

/// <summary>Whole-cluster status.</summary>
/// <param name="Capacity">Capacity forecast from recent utilization, when the control plane keeps history.</param>
public sealed record ClusterStatus(IReadOnlyList<NodeView> Nodes, IReadOnlyList<ServiceView> Services, CapacityReport? Capacity = null);

/// <summary>One log line of one instance.</summary>
public sealed record InstanceLogLine(string InstanceId, LogLine Line);

/// <summary>Log lines of a service, oldest first per instance.</summary>
public sealed record LogsResponse(IReadOnlyList<InstanceLogLine> Lines);
