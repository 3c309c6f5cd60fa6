using System.Text.RegularExpressions;
using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>Outcome of an agent call.</summary>
public sealed record AgentOutcome<T>(int StatusCode, T? Value, ApiError? Error) where T : class;

public sealed partial class ClusterService
{
    private const int MaxReportedInstances = 10_000;
    private const int MaxLogLinesPerReport = 1_000;
    private const int MaxLogLineLength = 8_192;

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex NodeNamePattern();

    /// <summary>Registers (or re-registers, by name) a node. The caller has checked the join token.</summary>
    public async Task<AgentOutcome<NodeInfo>> JoinAsync(JoinRequest request, CancellationToken ct)
    {
        var errors = ValidateJoin(request);
        if (errors.Count > 0)
            return new(400, null, new ApiError("the join request is invalid: " + string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")), errors));

        var existing = await Store.FindNodeAsync(request.Name, ct);
        var id = existing?.Id ?? "node-" + RandomHex();
        var node = new NodeInfo(id, request.Name, request.Address, request.Capacity, default, request.Drivers.ToArray(),
            request.Ports, request.Labels ?? new Dictionary<string, string>(), NodeState.Alive, Now, request.ReplicaPort);
        await UpdateNodeAsync(id, _ => node, ct);
        // A node that joins again may still run at the interval it was told before: judged against it.
        _detector.Heartbeat(id, await HeartbeatIntervalAsync(ct));
        await RecordAsync(existing is null ? EventKinds.NodeJoined : EventKinds.NodeRejoined, node.Name,
            $"{node.Name} joined at {node.Address} with {node.Capacity}, drivers {string.Join(",", node.Drivers)}", ct, node: node.Name);
        Wake();
        Log.NodeJoined(_logger, node.Name, id);
        return new(200, node, null);
    }

    private static List<FieldError> ValidateJoin(JoinRequest r)
    {
        var errors = new List<FieldError>();
        if (r.Name is null || !NodeNamePattern().IsMatch(r.Name))
            errors.Add(new("name", "must be a DNS label: lowercase letters, digits and '-', 1 to 63 characters"));
        if (string.IsNullOrWhiteSpace(r.Address) || r.Address.Length > 253 || r.Address.Any(char.IsWhiteSpace))
            errors.Add(new("address", "must be a host name or IP address"));
        if (r.Capacity.CpuMillicores <= 0 || r.Capacity.MemoryBytes <= 0 || r.Capacity.DiskBytes < 0)
            errors.Add(new("capacity", "cpu and memory must be positive"));
        if (r.Drivers is null || r.Drivers.Count == 0 || r.Drivers.Count > 16 || r.Drivers.Any(d => string.IsNullOrWhiteSpace(d) || d.Length > 32))
            errors.Add(new("drivers", "list at least one driver, e.g. [\"process\"]"));
        if (!r.Ports.IsValid)
            errors.Add(new("ports", "must be a range like 20000-20999 within 1-65535"));
        if (r.Labels is { Count: > 64 } || r.Labels?.Any(l => l.Key.Length > 63 || l.Value is null || l.Value.Length > 253) == true)
            errors.Add(new("labels", "at most 64 labels, keys up to 63 and values up to 253 characters"));
        if (r.ReplicaPort is { } port && port is < 1 or > 65535)
            errors.Add(new("replicaPort", "must be a TCP port from 1 to 65535, or absent when the agent runs no replica server"));
        return errors;
    }

    private const int MaxAgentEvents = 100;

    [GeneratedRegex("^[a-z][a-z0-9-]*\\.[a-z][a-z0-9-]*$")]
    private static partial Regex EventKindPattern();

    /// <summary>
    /// Takes an agent's report and answers with the full set of instances it must run. Reports about instances
    /// that are not (or no longer) assigned to this node at that epoch are ignored: the agent stops them because
    /// they are missing from the answer, which is how stale copies are fenced off. The answer also carries the
    /// fencing lease, the node's state and, while it drains, the drain's progress.
    /// </summary>
    public async Task<AgentOutcome<HeartbeatResponse>> HeartbeatAsync(string nodeId, HeartbeatRequest request, CancellationToken ct)
    {
        if (request.Instances is null || request.Instances.Count > MaxReportedInstances)
            return new(400, null, new ApiError($"instances must be a list of at most {MaxReportedInstances} reports"));
        if (request.Usage.CpuMillicores < 0 || request.Usage.MemoryBytes < 0 || request.Usage.DiskBytes < 0
            || request.Usage.NetworkReceiveBytesPerSecond < 0 || request.Usage.NetworkTransmitBytesPerSecond < 0)
            return new(400, null, new ApiError("usage values must not be negative"));
        if (request.Events is { Count: > MaxAgentEvents })
            return new(400, null, new ApiError($"events must be a list of at most {MaxAgentEvents} entries"));
        if (request.ReplicaPort is { } replicaPort && replicaPort is < 1 or > 65535)
            return new(400, null, new ApiError("replicaPort must be a TCP port from 1 to 65535, or absent"));

        var node = await Store.FindNodeAsync(nodeId, ct);
        if (node is null || node.Id != nodeId)
            return new(404, null, new ApiError($"node {nodeId} is not registered here; join again with a join token"));

        // Liveness first: whatever the store does next must not delay the detector's view of this node. The
        // detector judges the silence after this heartbeat against the interval this answer tells the node.
        var interval = await HeartbeatIntervalAsync(ct);
        var lease = FencingLeaseFor(interval);
        _detector.Heartbeat(nodeId, NoteTold(nodeId, interval, lease));
        // A node the last pass saw as not Alive is back (or reports while suspected): the reconciler looks at once
        // (it skips reading quiet nodes' detectors between passes, see NeedsReconcile).
        if (_observedLiveness.TryGetValue(nodeId, out var seen) && seen != NodeState.Alive) Wake();
        _metrics?.Heartbeat();
        _network[nodeId] = (request.Usage.NetworkReceiveBytesPerSecond, request.Usage.NetworkTransmitBytesPerSecond);
        var reported = request.Capacity.CpuMillicores > 0 && request.Capacity.MemoryBytes > 0 ? request.Capacity : (Resources?)null;
        var reportedDrivers = request.Drivers is { Count: > 0 and <= 16 } ? SameOrCopy(request.Drivers, node.Drivers) : null;
        // A node that left and reports again was restarted: it is back. A draining node stays draining.
        node = await UpdateNodeAsync(nodeId, current => current is null ? null : current with
        {
            Capacity = reported ?? current.Capacity, Usage = request.Usage, Drivers = reportedDrivers ?? current.Drivers, LastHeartbeat = Now,
            ReplicaPort = request.ReplicaPort ?? current.ReplicaPort,
            State = current.State == NodeState.Draining ? NodeState.Draining : NodeState.Alive,
        }, ct) ?? node;
        var capacity = node.Capacity;
        if (request.Events is { Count: > 0 }) await RecordAgentEventsAsync(node, request.Events, ct);

        // What this node holds, ordered by id, as read before the reports are applied (the answer is built from it),
        // with each instance's service record.
        var services = await ServicesByNameAsync(ct);
        var held = await InstancesOnAsync(nodeId, services, ct);
        var mine = held.Instances;
        var cursors = new Dictionary<string, long>(mine.Length, StringComparer.Ordinal);
        var next = 0;
        foreach (var report in request.Instances)
        {
            if (report?.InstanceId is null || held.IndexOf(report.InstanceId, next) is not (>= 0 and var at) || mine[at].Epoch != report.Epoch)
                continue;
            next = at + 1;
            var instance = mine[at];
            RecordInstanceUsage(instance.Id, report.Usage);
            // The steady case (nothing new about the instance) needs no call: most reports of a large cluster.
            if (!Unchanged(instance, report)) await ApplyReportAsync(instance, report, node.Name, held.Services[at]?.Spec, ct);
            if (report.Logs is { Count: > 0 })
            {
                var lines = report.Logs.Where(l => l is not null).Take(MaxLogLinesPerReport)
                    .Select(l => l.Text?.Length > MaxLogLineLength ? l with { Text = l.Text[..MaxLogLineLength] } : l with { Text = l.Text ?? "" })
                    .ToList();
                await Store.AppendLogsAsync(instance.Id, lines, ct);
            }
            cursors[instance.Id] = await LogCursorAsync(instance.Id, ct);
        }

        RecordUtilization(node, capacity, request.Usage, held.Allocated);
        // The agent running an instance is the one place a secret's value goes (sealed everywhere else).
        IReadOnlyDictionary<string, NodeInfo>? nodes = null;
        var assignments = new List<Assignment>(mine.Length);
        for (var k = 0; k < mine.Length; k++)
        {
            var i = mine[k];
            if (i.IsTerminal || held.Services[k] is not { } service) continue;
            if (i.ReplicaHolders is { Count: > 0 }) nodes ??= await NodesByIdAsync(ct);
            assignments.Add(new Assignment(i.Id, i.Epoch, await OpenedSpecAsync(service.Spec, ct), i.Ports, i.VolumeSet, nodes is null ? null : HoldersFor(i, nodes), i.MoveRequested));
        }
        foreach (var a in assignments)
            if (!cursors.ContainsKey(a.InstanceId)) cursors[a.InstanceId] = await LogCursorAsync(a.InstanceId, ct);
        var drain = node.State == NodeState.Draining ? await DrainStatusAsync(node, ct) : null;
        return new(200, new HeartbeatResponse(assignments, cursors, interval, lease, LiveState(node), drain), null);
    }

    /// <summary>
    /// The instances on a node ordered by id, with their services: from the term's snapshot while leading (kept per
    /// index entry while no instance or service changes, see <see cref="NodeInstances"/>, so a steady node costs no
    /// list, sort or lookup per instance), else read from the store.
    /// </summary>
    private async ValueTask<NodeInstances> InstancesOnAsync(string nodeId, IReadOnlyDictionary<string, ServiceRecord> services, CancellationToken ct)
    {
        if (Term is not { } term) return NodeInstances.From(await Store.ListInstancesAsync(nodeId: nodeId, cancellationToken: ct), services);
        return NodeInstances.Of(await term.State.SnapshotAsync(ct), nodeId);
    }

    /// <summary>The stored record's drivers when the report lists the same ones (no new array per heartbeat), else a copy of the report's.</summary>
    private static IReadOnlyList<string> SameOrCopy(IReadOnlyList<string> reported, IReadOnlyList<string>? stored)
    {
        if (stored is not null && stored.Count == reported.Count)
        {
            var same = true;
            for (var i = 0; i < reported.Count && same; i++) same = string.Equals(reported[i], stored[i], StringComparison.Ordinal);
            if (same) return stored;
        }
        return reported.ToArray();
    }

    /// <summary>The last stored log sequence of an instance: kept in memory by the term's state (read from the store once).</summary>
    private ValueTask<long> LogCursorAsync(string instanceId, CancellationToken ct)
    {
        if (Term is { } term && term.State.TryGetLogCursor(instanceId, out var last)) return ValueTask.FromResult(last);
        return new ValueTask<long>(Store.LastLogSequenceAsync(instanceId, ct));
    }

    /// <summary>Events an agent recorded on its own (self-fencing while cut off), delivered once it reconnects.</summary>
    private async Task RecordAgentEventsAsync(NodeInfo node, IReadOnlyList<AgentEvent> events, CancellationToken ct)
    {
        foreach (var e in events)
        {
            if (e?.Kind is null || e.Message is null || !EventKindPattern().IsMatch(e.Kind) || e.Kind.Length > 64) continue;
            var instance = e.InstanceId is { Length: > 0 and <= 128 } id ? id : null;
            var service = instance is null ? null : (await Store.ListInstancesAsync(nodeId: node.Id, cancellationToken: ct)).FirstOrDefault(i => i.Id == instance)?.Service
                ?? (instance.LastIndexOf('-') is var dash and > 0 ? instance[..dash] : null);
            var message = e.Message.Length > 1024 ? e.Message[..1024] : e.Message;
            // The agent's clock may be off; an event from the future is recorded as now.
            var at = e.Timestamp > Now ? Now : e.Timestamp;
            await Store.AppendEventAsync(new ClusterEvent(0, at, e.Kind, service ?? node.Name, $"{node.Name}: {message}", service, node.Name, instance), ct);
            Log.AgentEvent(_logger, node.Name, message);
        }
    }

    /// <summary>A report that says exactly what the record holds, with no sync reports: <see cref="ApplyReportAsync"/> would change nothing.</summary>
    private static bool Unchanged(ServiceInstance stored, InstanceReport report) =>
        !stored.IsTerminal && stored.State == report.State && string.Equals(stored.Reason, report.Reason ?? "", StringComparison.Ordinal)
        && stored.RestartCount == report.RestartCount && stored.Pid == report.Pid && report.Syncs is not { Count: > 0 };

    private async Task ApplyReportAsync(ServiceInstance stored, InstanceReport report, string nodeName, ServiceSpec? spec, CancellationToken ct)
    {
        // A terminal record (lost, stopped) is never revived by a late report.
        if (stored.IsTerminal || !Enum.IsDefined(report.State)) return;
        var reason = report.Reason is { Length: > 1024 } ? report.Reason[..1024] : report.Reason ?? "";
        var syncs = ReadSyncs(stored, spec, report.Syncs);
        if (syncs is not null) _liveSyncs[stored.Id] = syncs;
        // Completed syncs are stored (a failover reads them after this control plane is gone); lag alone is not.
        var storedSyncs = syncs is null || SameCompletedSyncs(stored.Syncs, syncs) ? stored.Syncs : syncs;
        if (stored.State == report.State && stored.Reason == reason && stored.RestartCount == report.RestartCount && stored.Pid == report.Pid
            && ReferenceEquals(storedSyncs, stored.Syncs))
            return;
        var incident = stored.Incident;
        // A failed or fenced instance starts a recovery of its own: its replacement and events share a new incident.
        if (stored.State != report.State && report.State is InstanceState.Failed or InstanceState.Stopped) incident = NewIncidentId();
        try
        {
            await Store.UpsertInstanceAsync(stored with
            {
                State = report.State, Reason = reason, RestartCount = report.RestartCount, Pid = report.Pid, Incident = incident,
                UpdatedAt = stored.State == report.State && stored.Reason == reason && stored.RestartCount == report.RestartCount && stored.Pid == report.Pid ? stored.UpdatedAt : Now,
                Syncs = storedSyncs,
            }, ct);
        }
        catch (InvalidOperationException)
        {
            return; // The service was removed meanwhile; the next answer tells the agent to stop it.
        }
        if (stored.State != report.State)
        {
            var message = reason.Length > 0 ? $"{stored.Id} on {nodeName} is {Words(report.State)}: {reason}" : $"{stored.Id} on {nodeName} is {Words(report.State)}";
            await RecordAsync("instance." + report.State.ToString().ToLowerInvariant(), stored.Service, message, ct,
                stored.Service, nodeName, stored.Id, incident);
            Wake();
        }
    }

    internal static string Words(InstanceState state) => state.ToString().ToLowerInvariant();
}
