using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using VirtualCluster.Membership;

namespace VirtualCluster.ControlPlane.Membership;

/// <summary>
/// The embedded default detector: a node is Suspect after <see cref="ControlPlaneOptions.SuspectAfter"/>
/// of silence and Down after <see cref="ControlPlaneOptions.DownAfter"/>. Fixed timeouts are easy to reason
/// about; the phi-accrual detector of VirtualCluster.FailureDetection adapts to jitter instead.
/// </summary>
public sealed class HeartbeatTimeoutDetector : IFailureDetector
{
    private readonly ConcurrentDictionary<string, long> _lastHeard = new();
    private readonly TimeProvider _time;
    private readonly ControlPlaneOptions _options;

    public HeartbeatTimeoutDetector(IOptions<ControlPlaneOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
    }

    /// <inheritdoc />
    public void Heartbeat(string nodeId) => _lastHeard[nodeId] = _time.GetTimestamp();

    /// <inheritdoc />
    public NodeState GetState(string nodeId)
    {
        if (!_lastHeard.TryGetValue(nodeId, out var last)) return NodeState.Down;
        var silence = _time.GetElapsedTime(last);
        if (silence >= _options.DownAfter) return NodeState.Down;
        return silence >= _options.SuspectAfter ? NodeState.Suspect : NodeState.Alive;
    }

    /// <inheritdoc />
    public void Remove(string nodeId) => _lastHeard.TryRemove(nodeId, out _);

    /// <summary>Time since the last heartbeat, or null if never heard.</summary>
    public TimeSpan? SilenceOf(string nodeId) =>
        _lastHeard.TryGetValue(nodeId, out var last) ? _time.GetElapsedTime(last) : null;
}
