using VirtualCluster.P2P.Stun;

namespace VirtualCluster.P2P.Ice;

/// <summary>States of a candidate pair in the checklist (RFC 8445 §6.1.2.6).</summary>
public enum IceCandidatePairState
{
    /// <summary>Waiting for a pair of the same foundation to succeed.</summary>
    Frozen,
    /// <summary>Ready to be checked.</summary>
    Waiting,
    /// <summary>A check is in flight.</summary>
    InProgress,
    /// <summary>A check succeeded: the pair (with the mapped local candidate) is valid.</summary>
    Succeeded,
    /// <summary>The check failed or timed out.</summary>
    Failed,
}

/// <summary>A local and a remote candidate, checked together (RFC 8445 §6.1.2).</summary>
public sealed class IceCandidatePair
{
    internal IceCandidatePair(LocalCandidate local, IceCandidate remote)
    {
        LocalCandidate = local;
        Remote = remote;
    }

    /// <summary>The local candidate checks are sent from: a host candidate, or a relayed one (sent through TURN).</summary>
    public IceCandidate Local => LocalCandidate.Candidate;

    /// <summary>The remote candidate.</summary>
    public IceCandidate Remote { get; internal set; }

    /// <summary>
    /// The local candidate of the valid pair (RFC 8445 §7.2.5.3.2): the candidate whose address the peer saw, e.g.
    /// server-reflexive behind a cone NAT or peer-reflexive behind a symmetric one. Equals <see cref="Local"/> until
    /// the pair succeeds.
    /// </summary>
    public IceCandidate ValidLocal => MappedLocal ?? Local;

    /// <summary>Checklist state.</summary>
    public IceCandidatePairState State { get; internal set; }

    /// <summary>True once nominated (RFC 8445 §8.1.1).</summary>
    public bool Nominated { get; internal set; }

    /// <summary>True when traffic goes through a TURN relay on either side.</summary>
    public bool IsRelayed => Local.IsRelayed || Remote.IsRelayed;

    /// <summary>The pair foundation: local and remote foundations joined.</summary>
    public string Foundation => Local.Foundation + ":" + Remote.Foundation;

    internal LocalCandidate LocalCandidate { get; }
    internal IceCandidate? MappedLocal { get; set; }
    internal StunTransactionId? CurrentCheck { get; set; }
    internal CancellationTokenSource? CurrentCheckCancel { get; set; }
    /// <summary>A check replaced by a triggered one while in flight: its success response still counts (RFC 8445 §7.3.1.4).</summary>
    internal StunTransactionId? SupersededCheck { get; set; }
    internal bool UseCandidate { get; set; }
    internal bool NominateOnSuccess { get; set; }
    internal bool Queued { get; set; }
    /// <summary>When the current check on this pair was started (not retransmitted): how long it has gone unanswered.</summary>
    internal DateTimeOffset? CheckStartedAt { get; set; }
    /// <summary>Time from the start of the check that succeeded to its response (an upper bound of the round trip).</summary>
    public TimeSpan? Rtt { get; internal set; }

    /// <summary>Pair priority from the controlling agent's point of view (RFC 8445 §6.1.2.3).</summary>
    public ulong PriorityFor(bool localIsControlling) =>
        localIsControlling ? IcePriority.Pair(Local.Priority, Remote.Priority) : IcePriority.Pair(Remote.Priority, Local.Priority);

    /// <inheritdoc />
    public override string ToString() =>
        $"{IceCandidate.TypeToken(ValidLocal.Type)} {ValidLocal.EndPoint} -> {IceCandidate.TypeToken(Remote.Type)} {Remote.EndPoint} ({State}{(Nominated ? ", nominated" : "")})";
}
