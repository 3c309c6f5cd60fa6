namespace VirtualCluster.ControlPlane.Cluster;

/// <summary>
/// Which nodes' live state can have changed since the reconciler last looked at them, so that a pass and a check
/// read those nodes only instead of every node's detector (at 10,000 nodes, most passes find a handful).
/// </summary>
/// <remarks>
/// A node's live state changes in two ways only. A call changes it (a heartbeat, a join, a leave, a write of its
/// record): the caller <see cref="Touch"/>es the node. Or time changes it: a node seen Alive can stop being Alive
/// only after the time its detector guarantees it stays Alive (<c>NodeFailureDetector.AliveAtLeastUntil</c>),
/// kept here as a deadline in a queue ordered by time; a node seen in any other state, or Alive without such a
/// guarantee (another detector), is looked at every time. So the nodes to look at are the touched ones, the
/// unbounded ones and those whose deadline has passed: a superset of the nodes whose state can differ from what
/// was seen. Deadlines are replaced, not removed: a queue entry that no longer matches the node's current
/// deadline is dropped when it comes up. Thread-safe (one lock; nothing is called out under it).
/// </remarks>
internal sealed class LivenessWatch
{
    private readonly Lock _gate = new();
    private readonly PriorityQueue<string, long> _queue = new();
    /// <summary>The current deadline (UTC ticks) of each node seen Alive with a guarantee.</summary>
    private readonly Dictionary<string, long> _deadlines = new(StringComparer.Ordinal);
    /// <summary>Nodes to look at every time: not Alive when last seen, or Alive with no guarantee.</summary>
    private readonly HashSet<string> _unbounded = new(StringComparer.Ordinal);
    private HashSet<string> _touched = new(StringComparer.Ordinal);

    /// <summary>Nodes watched with a deadline and without one (for tests).</summary>
    public (int Deadlines, int Unbounded) Counts
    {
        get
        {
            lock (_gate) return (_deadlines.Count, _unbounded.Count);
        }
    }

    /// <summary>Notes a call that may have changed a node's live state: it is looked at next time.</summary>
    public void Touch(string nodeId)
    {
        lock (_gate) _touched.Add(nodeId);
    }

    /// <summary>
    /// Takes the nodes to look at now (touched, unbounded, deadline passed). Each must then be reported through
    /// <see cref="Seen"/> or <see cref="Forget"/>; an unbounded node stays unbounded until then.
    /// </summary>
    public HashSet<string> TakeDue(long nowTicks)
    {
        lock (_gate)
        {
            var due = _touched;
            _touched = new HashSet<string>(StringComparer.Ordinal);
            due.UnionWith(_unbounded);
            while (_queue.TryPeek(out var nodeId, out var at) && at <= nowTicks)
            {
                _queue.Dequeue();
                if (_deadlines.TryGetValue(nodeId, out var current) && current == at)
                {
                    _deadlines.Remove(nodeId);
                    due.Add(nodeId);
                }
            }
            return due;
        }
    }

    /// <summary>
    /// Records a look at a node: <paramref name="aliveUntilTicks"/> is the time before which it stays Alive without a
    /// call, or null to look at it every time.
    /// </summary>
    public void Seen(string nodeId, long? aliveUntilTicks)
    {
        lock (_gate)
        {
            if (aliveUntilTicks is { } until)
            {
                _unbounded.Remove(nodeId);
                if (_deadlines.TryGetValue(nodeId, out var current) && current == until) return;
                _deadlines[nodeId] = until;
                _queue.Enqueue(nodeId, until);
            }
            else
            {
                _deadlines.Remove(nodeId);
                _unbounded.Add(nodeId);
            }
        }
    }

    /// <summary>A node that is gone: no longer watched.</summary>
    public void Forget(string nodeId)
    {
        lock (_gate)
        {
            _deadlines.Remove(nodeId);
            _unbounded.Remove(nodeId);
            _touched.Remove(nodeId);
        }
    }

    /// <summary>Forgets everything (a new term, or a walk over every node that reports each one again).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _queue.Clear();
            _deadlines.Clear();
            _unbounded.Clear();
            _touched.Clear();
        }
    }

    /// <summary>
    /// For the reconciler's check between passes: looks at the nodes whose deadline has passed, without taking them
    /// from a pass. <paramref name="look"/> tells whether such a node's state is still the one seen and, if so, its
    /// next deadline (null: watched every time from now). A node whose state changed is touched, for the next pass,
    /// and makes the result true. <paramref name="unbounded"/> receives the unbounded nodes, for the caller to
    /// compare with what was seen.
    /// </summary>
    public bool CheckExpired(long nowTicks, Func<string, (bool Same, long? Next)> look, out List<string> unbounded)
    {
        List<string> expired = [];
        lock (_gate)
        {
            while (_queue.TryPeek(out var nodeId, out var at) && at <= nowTicks)
            {
                _queue.Dequeue();
                if (_deadlines.TryGetValue(nodeId, out var current) && current == at)
                {
                    _deadlines.Remove(nodeId);
                    expired.Add(nodeId);
                }
            }
            unbounded = [.. _unbounded];
        }
        var changed = false;
        foreach (var nodeId in expired)
        {
            var (same, next) = look(nodeId);
            if (same) Seen(nodeId, next > nowTicks ? next : null);
            else
            {
                Touch(nodeId);
                changed = true;
            }
        }
        return changed;
    }
}
