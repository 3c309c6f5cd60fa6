using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Cluster;

// Leadership terms: the in-memory state (live cluster state, kept scheduling state) belongs to one term.
public sealed partial class ClusterService
{
    private LeaderTerm? _term;
    private volatile bool _termsManaged;
    private long _termSeenByReconciler;

    /// <summary>
    /// The current term's state, or null while this control plane does not lead. Without high availability there
    /// is one term for the life of the process, begun at first use.
    /// </summary>
    internal LeaderTerm? Term
    {
        get
        {
            var term = Volatile.Read(ref _term);
            if (term is not null || _termsManaged) return term;
            var created = NewTerm();
            return Interlocked.CompareExchange(ref _term, created, null) ?? created;
        }
    }

    /// <summary>The cluster store as this control plane should read and write it: through the term's memory while it leads.</summary>
    private IClusterStore Store => (IClusterStore?)Term?.State ?? _nodeStore;

    private LeaderTerm NewTerm() => new(_nodeStore, _scheduler, LiveState, () => Now);

    /// <summary>
    /// Starts a term of leadership (high availability calls it when elected): nothing kept in memory by an earlier
    /// term is used again; the new term loads what the store holds, as the last leader left it.
    /// </summary>
    public void BeginTerm()
    {
        _termsManaged = true;
        Volatile.Write(ref _term, NewTerm());
        Wake();
    }

    /// <summary>Ends the term (leadership lost or not yet won): reads go to the store until the next <see cref="BeginTerm"/>.</summary>
    public void EndTerm()
    {
        _termsManaged = true;
        Volatile.Write(ref _term, null);
    }

    /// <summary>Under the placement lock: forgets what the reconciler kept from an earlier term (retries, observed states).</summary>
    private void ForgetEarlierTerm()
    {
        var id = Term?.Id ?? 0;
        if (id == _termSeenByReconciler) return;
        _termSeenByReconciler = id;
        _placementRetries.Clear();
        _failureRetries.Clear();
        _observedState.Clear();
        _unreachableSince.Clear();
    }
}
