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
/// <param name="CertificateRequest">
/// A PEM PKCS#10 request for the node's client certificate (ECDSA P-256 key made and kept by the agent); the answer
/// then carries the certificate. Null: no certificate (an agent of an earlier release).
/// </param>
public sealed record JoinRequest(
    string JoinToken,
    string Name,
    string Address,
    Resources Capacity,
    IReadOnlyList<string> Drivers,
    PortRange Ports,
    IReadOnlyDictionary<string, string>? Labels,
    string? CertificateRequest = null,
    int? ReplicaPort = null);

/// <summary>The node id and machine token an agent uses from then on.</summary>
/// <param name="ClientCertificate">The node's client certificate (PEM, signed by the cluster CA), when the join asked for one.</param>
public sealed record JoinResponse(string NodeId, string Token, string? ClientCertificate = null);

/// <summary>What an agent reports about one instance it runs.</summary>
/// <param name="Logs">New output lines (after the cursor the control plane last returned).</param>
/// <param name="Syncs">Replication of its replicated volumes: the last completed sync and the lag, per volume and holder.</param>
/// <param name="Usage">What the instance itself uses (its processes), when the agent could measure it.</param>
public sealed record InstanceReport(
    string InstanceId,
    long Epoch,
    InstanceState State,
    string Reason,
    int RestartCount,
    int? Pid,
    IReadOnlyList<LogLine> Logs,
    IReadOnlyList<VolumeSyncReport>? Syncs = null,
    InstanceUsage? Usage = null);

/// <summary>What one instance uses, measured by its agent: its process and every process under it.</summary>
/// <param name="CpuMillicores">CPU since the agent's previous sample, in millicores (1000 = one core busy).</param>
/// <param name="MemoryBytes">Resident memory.</param>
public sealed record InstanceUsage(long CpuMillicores, long MemoryBytes);

/// <summary>Something an agent did on its own that belongs in the event log (e.g. self-fencing while cut off).</summary>
/// <param name="Timestamp">When it happened, by the agent's clock.</param>
/// <param name="Kind">Event kind, e.g. "instance.fenced".</param>
/// <param name="InstanceId">Instance concerned, if any.</param>
/// <param name="Message">Readable sentence.</param>
public sealed record AgentEvent(DateTimeOffset Timestamp, string Kind, string? InstanceId, string Message);

/// <summary>Periodic report from an agent.</summary>
/// <param name="Events">Events recorded since the last successful report (delivered once it reconnects).</param>
/// <param name="CertificateRequest">
/// A PEM PKCS#10 request for a new client certificate: sent once two thirds of the current one's life are over (or
/// when the agent has none); the answer's <see cref="HeartbeatResponse.ClientCertificate"/> carries it.
/// </param>
public sealed record HeartbeatRequest(
    ResourceUsage Usage,
    Resources Capacity,
    IReadOnlyList<string> Drivers,
    IReadOnlyList<InstanceReport> Instances,
    IReadOnlyList<AgentEvent>? Events = null,
    string? CertificateRequest = null,
    int? ReplicaPort = null);

/// <summary>An instance the agent must run.</summary>
/// <param name="VolumeSet">For replicated volumes: the volume set it owns (see <see cref="ServiceInstance.VolumeSet"/>).</param>
/// <param name="Holders">Where to replicate its volumes to.</param>
/// <param name="Move">Stop it (it is moving off this node), sync its replicated volumes one last time, then report it Stopped.</param>
public sealed record Assignment(string InstanceId, long Epoch, ServiceSpec Spec, IReadOnlyDictionary<string, int> Ports,
    string? VolumeSet = null, IReadOnlyList<ReplicaHolder>? Holders = null, bool Move = false);

/// <summary>Answer to a heartbeat: the full desired set for this node (anything else must stop).</summary>
/// <param name="Assignments">Every instance this node must run.</param>
/// <param name="LogCursors">Highest stored log sequence per instance; send only newer lines.</param>
/// <param name="HeartbeatInterval">When to report next.</param>
/// <param name="FencingLease">
/// Self-fencing lease: if the agent gets no successful answer for this long (counted from when it sent the
/// request that got this answer), it stops its singleton instances by itself. Zero: no self-fencing.
/// The control plane replaces a singleton only after its node has been silent for longer than this.
/// </param>
/// <param name="NodeState">The node's state as the control plane sees it (e.g. Draining).</param>
/// <param name="Drain">Progress of a drain of this node, when one was requested.</param>
/// <param name="RenewedToken">A fresh machine token, once half of the current one's life is over.</param>
/// <param name="ClientCertificate">The node's new client certificate (PEM), when the heartbeat asked for one.</param>
public sealed record HeartbeatResponse(
    IReadOnlyList<Assignment> Assignments,
    IReadOnlyDictionary<string, long> LogCursors,
    TimeSpan HeartbeatInterval,
    TimeSpan FencingLease = default,
    NodeState NodeState = NodeState.Alive,
    DrainStatus? Drain = null,
    string? RenewedToken = null,
    string? ClientCertificate = null);

/// <summary>Where one instance of a draining node stands.</summary>
/// <param name="InstanceId">Instance on the draining node.</param>
/// <param name="Service">Its service.</param>
/// <param name="Status">"queued" (not tried yet), "moving" (replacement placed, not healthy yet), "waiting" (no room yet; retried with backoff), or "blocked" (failover "never": it stays). Moved instances are no longer listed.</param>
/// <param name="Detail">Readable detail: the replacement and where it runs, or why it cannot move.</param>
public sealed record DrainItem(string InstanceId, string Service, string Status, string Detail);

/// <summary>Progress of a node drain.</summary>
/// <param name="Node">Node name.</param>
/// <param name="Complete">True when nothing movable is left on the node (blocked instances may stay).</param>
/// <param name="Instances">Every instance that was on the node when the drain was last evaluated.</param>
public sealed record DrainStatus(string Node, bool Complete, IReadOnlyList<DrainItem> Instances);

/// <summary>A node with its reservations.</summary>
public sealed record NodeView(NodeInfo Node, Resources Allocated, int Instances);

/// <summary>An instance with where to reach it.</summary>
/// <param name="Score">Its node's score when it was placed (total and per scorer), if this control plane placed it since it started.</param>
/// <param name="Replicas">Its replicated volumes: per volume and holder the last completed sync and the lag (null without replicated volumes).</param>
/// <param name="Usage">What the instance itself uses, as its agent last measured it (null until measured).</param>
public sealed record InstanceView(ServiceInstance Instance, string NodeName, IReadOnlyList<string> Urls, NodeScore? Score = null,
    IReadOnlyList<ReplicaView>? Replicas = null, InstanceUsage? Usage = null);

/// <summary>Work the control plane has not managed to do yet for a service, and why.</summary>
/// <param name="Kind">"placement" (waiting for room), "replacement" (a failed instance will be replaced), "failover" (waiting for the failover delay or the fencing lease), or "gave-up" (maxAttempts reached).</param>
/// <param name="Instances">How many instances it concerns.</param>
/// <param name="Reason">Readable reason, e.g. the scheduler's explanation.</param>
/// <param name="Attempts">Attempts so far.</param>
/// <param name="NextAttemptAt">When it is tried next, if it will be.</param>
public sealed record PendingWork(string Kind, int Instances, string Reason, int Attempts, DateTimeOffset? NextAttemptAt);

/// <summary>A service with its instances.</summary>
/// <param name="Pending">Work not done yet and why (empty when the service is as desired).</param>
/// <param name="Url">
/// The service's stable URL through the cluster's gateway (it follows failovers), e.g.
/// <c>http://hello.localhost:8080/</c>; null when the control plane knows no gateway.
/// </param>
/// <param name="Domains">The spec's custom domains with what the gateways found (null when the spec names none).</param>
public sealed record ServiceView(
    ServiceSpec Spec,
    DateTimeOffset CreatedAt,
    int Desired,
    int Running,
    IReadOnlyList<InstanceView> Instances,
    IReadOnlyList<PendingWork>? Pending = null,
    string? Url = null,
    IReadOnlyList<DomainView>? Domains = null);

/// <summary>Body of <c>POST /v1/tokens</c>: a service token for one service.</summary>
/// <param name="Service">The service's name.</param>
/// <param name="Ttl">How long the token is valid: positive, at most 30 days.</param>
public sealed record ServiceTokenRequest(string Service, TimeSpan Ttl);

/// <summary>A new service token.</summary>
/// <param name="Token">The JWT: send it as <c>Authorization: Bearer</c>, or once as <c>?vc_token=</c> in a browser.</param>
/// <param name="Service">The service it opens.</param>
/// <param name="ExpiresAt">When it stops working.</param>
/// <param name="Access">The service's access mode now; a token is only checked for <see cref="ServiceAccess.Token"/>.</param>
/// <param name="Url">The service's stable URL, when a gateway is known.</param>
public sealed record ServiceTokenResponse(string Token, string Service, DateTimeOffset ExpiresAt, ServiceAccess Access, string? Url = null);

/// <summary>Whole-cluster status.</summary>
/// <param name="Capacity">Capacity forecast from recent utilization, when the control plane keeps history.</param>
public sealed record ClusterStatus(IReadOnlyList<NodeView> Nodes, IReadOnlyList<ServiceView> Services, CapacityReport? Capacity = null);

/// <summary>One log line of one instance.</summary>
public sealed record InstanceLogLine(string InstanceId, LogLine Line);

/// <summary>Log lines of a service, oldest first per instance.</summary>
public sealed record LogsResponse(IReadOnlyList<InstanceLogLine> Lines);

/// <summary>A named user of the cluster (<c>GET /v1/users</c>). Role: admin, operator or viewer.</summary>
public sealed record UserView(string Name, string Role, DateTimeOffset CreatedAt);

/// <summary>Body of <c>POST /v1/users</c>: a new user with a role (admin, operator or viewer).</summary>
public sealed record AddUserRequest(string Name, string Role);

/// <summary>Body of <c>POST /v1/users/{name}/tokens</c>: a role at most the user's (default the user's role) and a lifetime.</summary>
public sealed record UserTokenRequest(string? Role, TimeSpan Ttl);

/// <summary>A token issued for a named user.</summary>
public sealed record UserTokenResponse(string Token, string User, string Role, DateTimeOffset ExpiresAt);

/// <summary>Body of <c>POST /v1/join-tokens</c>: a join token for new machines.</summary>
/// <param name="Ttl">How long it works: positive, at most 30 days; null for the default of 1 hour.</param>
/// <param name="Uses">How many machines may join with it (1 = single use); null for no limit.</param>
/// <param name="Description">A note shown by <c>vcluster token list</c>, e.g. who it is for (at most 200 characters).</param>
public sealed record JoinTokenRequest(TimeSpan? Ttl = null, int? Uses = null, string? Description = null);

/// <summary>A new join token; the token itself is shown once and never again.</summary>
public sealed record JoinTokenResponse(string Token, string Id, DateTimeOffset ExpiresAt, int? Uses, string? Description);

/// <summary>A join token the cluster lists (<c>GET /v1/join-tokens</c>), without the token itself.</summary>
/// <param name="UsesAllowed">Joins it may admit; null for no limit.</param>
/// <param name="Used">Joins it admitted so far.</param>
/// <param name="Bootstrap">The token the control plane made on first start (its data directory's join.token file).</param>
public sealed record JoinTokenView(string Id, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, int? UsesAllowed, int Used, bool Revoked,
    string? Description, bool Bootstrap);

/// <summary>One alert in <c>GET /v1/alerts</c>.</summary>
/// <param name="Name">The rule (NodeDown, NodeSuspect, ServiceDegraded).</param>
/// <param name="Severity">critical or warning.</param>
/// <param name="Status">firing or resolved.</param>
/// <param name="Labels">Every label, the rule's subject (node or service) included.</param>
/// <param name="Summary">One line.</param>
/// <param name="Description">What it means.</param>
/// <param name="StartsAt">When the condition began.</param>
/// <param name="EndsAt">When it cleared; null while firing.</param>
public sealed record AlertView(string Name, string Severity, string Status, IReadOnlyDictionary<string, string> Labels, string Summary, string Description,
    DateTimeOffset StartsAt, DateTimeOffset? EndsAt);

/// <summary>Answer of <c>GET /v1/alerts</c>: what fires now, and what resolved lately (newest first).</summary>
public sealed record AlertsResponse(IReadOnlyList<AlertView> Firing, IReadOnlyList<AlertView> Resolved);
