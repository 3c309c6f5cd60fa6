using System.Collections.Concurrent;
using VirtualCluster.Membership;

namespace VirtualCluster.FailureDetection;

/// <summary>
/// A <see cref="PhiAccrualDetector"/> per node, turned into node states with two thresholds:
/// Alive while φ &lt; <see cref="FailureDetectorOptions.SuspectThreshold"/>, Suspect from there, Down from
/// <see cref="FailureDetectorOptions.DownThreshold"/> (or after <see cref="FailureDetectorOptions.MaxSilence"/> of
/// silence), and Left after <see cref="Leave"/>. States are computed when asked, from the time since each node's
/// last heartbeat, so there is no timer to run.
/// </summary>
/// <remarks>
/// A heartbeat from a node that is Down or Left starts its statistics afresh: the outage is not an interval of its
/// normal rhythm, and keeping it would make the next failure of that node slow to detect.
/// Thread-safe; every operation is O(1).
/// </remarks>
public sealed class NodeFailureDetector : IFailureDetector
{
    private readonly ConcurrentDictionary<string, Entry> _nodes = new(StringComparer.Ordinal);
    private readonly FailureDetectorOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates an empty registry.</summary>
    /// <param name="options">Thresholds and detector parameters; copied.</param>
    /// <param name="time">Clock; the system clock when null.</param>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="FailureDetectorOptions.Validate"/>).</exception>
    public NodeFailureDetector(FailureDetectorOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options = options.Clone();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Ids of every node heard of (or marked as left) and not removed.</summary>
    public IReadOnlyCollection<string> Nodes => _nodes.Keys.ToList();

    /// <inheritdoc />
    public void Heartbeat(string nodeId) => Heartbeat(nodeId, null);

    /// <inheritdoc />
    /// <remarks>
    /// The node is judged on its lateness against <paramref name="nextInterval"/>: see
    /// <see cref="PhiAccrualDetector.Heartbeat(TimeSpan)"/>; <see cref="FailureDetectorOptions.MaxSilence"/> is
    /// counted after the stretch too, so a node told to report every five minutes is not Down after 15 s.
    /// </remarks>
    public void Heartbeat(string nodeId, TimeSpan nextInterval) => Heartbeat(nodeId, (TimeSpan?)nextInterval);

    private void Heartbeat(string nodeId, TimeSpan? nextInterval)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        var entry = _nodes.GetOrAdd(nodeId, _ => new Entry(new PhiAccrualDetector(_options, _time)));
        lock (entry.Gate)
        {
            var state = Evaluate(entry).State;
            if (state is NodeState.Down or NodeState.Left) entry.Detector.Reset();
            entry.Left = false;
            if (nextInterval is { } interval) entry.Detector.Heartbeat(interval);
            else entry.Detector.Heartbeat();
        }
    }

    /// <inheritdoc />
    public NodeState GetState(string nodeId) => Inspect(nodeId).State;

    /// <inheritdoc />
    public NodeLiveness Inspect(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        if (!_nodes.TryGetValue(nodeId, out var entry)) return new NodeLiveness(NodeState.Down, double.PositiveInfinity, null);
        lock (entry.Gate) return Evaluate(entry);
    }

    /// <summary>
    /// A time before which this node stays Alive unless a call changes it (a heartbeat can only push it later), or
    /// null when there is none: the node is not Alive now, was never heard of, or the thresholds allow suspicion
    /// before the expected arrival (<see cref="FailureDetectorOptions.SuspectThreshold"/> at most φ at the mean,
    /// about 0.3). Lets a caller that polls many nodes skip them until the earliest such time: while the silence,
    /// less the stretch of the interval the node was told, is below the acceptable pause (and MaxSilence), φ is below
    /// 0.3 whatever the window holds.
    /// </summary>
    public DateTimeOffset? AliveAtLeastUntil(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        if (_options.SuspectThreshold <= PhiAtMean || !_nodes.TryGetValue(nodeId, out var entry)) return null;
        var calm = _options.MaxSilence is { } max && max < _options.AcceptableHeartbeatPause ? max : _options.AcceptableHeartbeatPause;
        lock (entry.Gate)
        {
            var now = _time.GetUtcNow();
            var phi = entry.Detector.Read(out var silence, out var stretch);
            if (entry.Left || silence is null || phi >= _options.SuspectThreshold || silence.Value - stretch >= calm) return null;
            return now + (calm - (silence.Value - stretch));
        }
    }

    /// <summary>φ when a heartbeat is exactly as late as expected (z = 0): −log10(½), a hair above 0.301.</summary>
    private const double PhiAtMean = 0.30103;

    /// <inheritdoc />
    public void Leave(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        var entry = _nodes.GetOrAdd(nodeId, _ => new Entry(new PhiAccrualDetector(_options, _time)));
        lock (entry.Gate) entry.Left = true;
    }

    /// <inheritdoc />
    public void Remove(string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        _nodes.TryRemove(nodeId, out _);
    }

    private NodeLiveness Evaluate(Entry entry)
    {
        var phi = entry.Detector.Read(out var silence, out var stretch);
        if (entry.Left) return new NodeLiveness(NodeState.Left, 0, silence);
        if (silence is null) return new NodeLiveness(NodeState.Down, double.PositiveInfinity, null);
        var state = phi >= _options.DownThreshold || silence - stretch >= _options.MaxSilence ? NodeState.Down
            : phi >= _options.SuspectThreshold ? NodeState.Suspect
            : NodeState.Alive;
        return new NodeLiveness(state, phi, silence);
    }

    private sealed class Entry(PhiAccrualDetector detector)
    {
        public PhiAccrualDetector Detector { get; } = detector;
        public Lock Gate { get; } = new();
        public bool Left { get; set; }
    }
}
