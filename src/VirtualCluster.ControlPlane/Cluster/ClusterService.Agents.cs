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

        var existing = await _store.FindNodeAsync(request.Name, ct);
        var id = existing?.Id ?? "node-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
        var node = new NodeInfo(id, request.Name, request.Address, request.Capacity, default, request.Drivers.ToArray(),
            request.Ports, request.Labels ?? new Dictionary<string, string>(), NodeState.Alive, Now);
        await _store.UpsertNodeAsync(node, ct);
        _detector.Heartbeat(id);
        await RecordAsync(existing is null ? "node.joined" : "node.rejoined", node.Name,
            $"{node.Name} joined at {node.Address} with {node.Capacity}, drivers {string.Join(",", node.Drivers)}", ct);
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
        return errors;
    }

    /// <summary>
    /// Takes an agent's report and answers with the full set of instances it must run. Reports about instances
    /// that are not (or no longer) assigned to this node at that epoch are ignored: the agent stops them because
    /// they are missing from the answer, which is how stale copies are fenced off.
    /// </summary>
    public async Task<AgentOutcome<HeartbeatResponse>> HeartbeatAsync(string nodeId, HeartbeatRequest request, CancellationToken ct)
    {
        if (request.Instances is null || request.Instances.Count > MaxReportedInstances)
            return new(400, null, new ApiError($"instances must be a list of at most {MaxReportedInstances} reports"));
        if (request.Usage.CpuMillicores < 0 || request.Usage.MemoryBytes < 0 || request.Usage.DiskBytes < 0)
            return new(400, null, new ApiError("usage values must not be negative"));

        var node = await _store.FindNodeAsync(nodeId, ct);
        if (node is null || node.Id != nodeId)
            return new(404, null, new ApiError($"node {nodeId} is not registered here; join again with a join token"));

        _metrics?.Heartbeat();
        var wasState = LiveState(node);
        _detector.Heartbeat(nodeId);
        var capacity = request.Capacity.CpuMillicores > 0 && request.Capacity.MemoryBytes > 0 ? request.Capacity : node.Capacity;
        var drivers = request.Drivers is { Count: > 0 and <= 16 } ? request.Drivers.ToArray() : node.Drivers;
        await _store.UpsertNodeAsync(node with
        {
            Capacity = capacity, Usage = request.Usage, Drivers = drivers, LastHeartbeat = Now,
            State = node.State == NodeState.Left ? NodeState.Left : NodeState.Alive,
        }, ct);
        if (wasState == NodeState.Down)
            await RecordAsync("node.alive", node.Name, $"{node.Name} is reporting again", ct);

        var mine = (await _store.ListInstancesAsync(nodeId: nodeId, cancellationToken: ct)).ToDictionary(i => i.Id, StringComparer.Ordinal);
        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var report in request.Instances)
        {
            if (report?.InstanceId is null || !mine.TryGetValue(report.InstanceId, out var stored) || stored.Epoch != report.Epoch)
                continue;
            await ApplyReportAsync(stored, report, node.Name, ct);
            if (report.Logs is { Count: > 0 })
            {
                var lines = report.Logs.Where(l => l is not null).Take(MaxLogLinesPerReport)
                    .Select(l => l.Text?.Length > MaxLogLineLength ? l with { Text = l.Text[..MaxLogLineLength] } : l with { Text = l.Text ?? "" })
                    .ToList();
                await _store.AppendLogsAsync(stored.Id, lines, ct);
            }
            cursors[stored.Id] = await _store.LastLogSequenceAsync(stored.Id, ct);
        }

        var services = (await _store.ListServicesAsync(ct)).ToDictionary(s => s.Spec.Name, StringComparer.Ordinal);
        RecordUtilization(node, capacity, request.Usage, mine.Values, services);
        var assignments = mine.Values
            .Where(i => !i.IsTerminal && services.ContainsKey(i.Service))
            .Select(i => new Assignment(i.Id, i.Epoch, services[i.Service].Spec, i.Ports))
            .ToList();
        foreach (var a in assignments) cursors.TryAdd(a.InstanceId, await _store.LastLogSequenceAsync(a.InstanceId, ct));
        return new(200, new HeartbeatResponse(assignments, cursors, _options.HeartbeatInterval), null);
    }

    private async Task ApplyReportAsync(ServiceInstance stored, InstanceReport report, string nodeName, CancellationToken ct)
    {
        // A terminal record (lost, stopped) is never revived by a late report.
        if (stored.IsTerminal || !Enum.IsDefined(report.State)) return;
        var reason = report.Reason is { Length: > 1024 } ? report.Reason[..1024] : report.Reason ?? "";
        if (stored.State == report.State && stored.Reason == reason && stored.RestartCount == report.RestartCount && stored.Pid == report.Pid)
            return;
        try
        {
            await _store.UpsertInstanceAsync(stored with
            {
                State = report.State, Reason = reason, RestartCount = report.RestartCount, Pid = report.Pid, UpdatedAt = Now,
            }, ct);
        }
        catch (InvalidOperationException)
        {
            return; // The service was removed meanwhile; the next answer tells the agent to stop it.
        }
        if (stored.State != report.State)
        {
            var message = reason.Length > 0 ? $"{stored.Id} on {nodeName} is {Words(report.State)}: {reason}" : $"{stored.Id} on {nodeName} is {Words(report.State)}";
            await RecordAsync("instance." + report.State.ToString().ToLowerInvariant(), stored.Service, message, ct);
        }
    }

    internal static string Words(InstanceState state) => state.ToString().ToLowerInvariant();
}
