using VirtualCluster.Store;

namespace VirtualCluster.Membership;

/// <summary>The current leader of an election as observers see it.</summary>
/// <param name="Election">Election name.</param>
/// <param name="Value">What the leader announced (for a control plane, its API URL).</param>
/// <param name="Token">The leader's fencing token; see <see cref="ILeaderElection"/>.</param>
public sealed record LeaderInfo(string Election, string Value, long Token);

/// <summary>Held by the winner of <see cref="ILeaderElection.CampaignAsync"/>.</summary>
/// <param name="Election">Election name.</param>
/// <param name="Value">What this leader announced.</param>
/// <param name="Token">Fencing token: greater than the token of every earlier leader of this election.</param>
/// <param name="LeaseId">The lease the leadership is tied to: it ends when the lease ends.</param>
/// <param name="Fence">
/// A condition on the election's key-value store that holds exactly while this leadership lasts. Add it to a
/// transaction (<see cref="IKeyValueStore.TransactAsync"/>) so that only the current leader's writes apply.
/// </param>
public sealed record Leadership(string Election, string Value, long Token, string LeaseId, KvCondition Fence)
{
    /// <summary>As observers see this leadership.</summary>
    public LeaderInfo Info => new(Election, Value, Token);
}

/// <summary>
/// Leader election with fencing tokens. One candidate at a time leads an election; leadership is tied to a lease
/// (see <see cref="IKeyValueStore.GrantLeaseAsync"/>) and ends when the leader resigns or its lease ends.
/// </summary>
/// <remarks>
/// <para><b>Safety.</b> At most one leadership of an election is current at any revision of the store. A new
/// leader is elected only after the previous leadership ended. The fencing <see cref="Leadership.Token"/> of each
/// new leader is strictly greater than every earlier leader's (it is the store revision at which the leadership
/// began), so a resource that remembers the highest token it saw can refuse a deposed leader. The
/// <see cref="Leadership.Fence"/> condition does the same for writes to the store itself.</para>
/// <para><b>Liveness.</b> When the leader's lease ends (it crashed or was cut off), the next campaigner is elected
/// within about the lease's time to live. Observers learn of every change of leader, possibly with a delay.</para>
/// <para>A leader learns it was deposed only through its lease: when <see cref="IKeyValueStore.KeepAliveAsync"/>
/// returns false or cannot reach the store for longer than the TTL, it must stop acting as leader.</para>
/// </remarks>
public interface ILeaderElection
{
    /// <summary>
    /// Waits until this candidate leads <paramref name="election"/>, then returns the leadership. Campaigning
    /// again with the same lease while leading returns the same leadership.
    /// </summary>
    /// <param name="election">Election name: letters, digits, '-', '_' and '.'.</param>
    /// <param name="value">What to announce to observers.</param>
    /// <param name="leaseId">A live lease from the same store; required. Keep it alive while campaigning and leading.</param>
    /// <param name="cancellationToken">Stops waiting; the candidate then withdraws.</param>
    /// <exception cref="KvLeaseNotFoundException">The lease ended before or during the campaign.</exception>
    Task<Leadership> CampaignAsync(string election, string value, string leaseId, CancellationToken cancellationToken = default);

    /// <summary>The current leader, or null when there is none.</summary>
    Task<LeaderInfo?> GetLeaderAsync(string election, CancellationToken cancellationToken = default);

    /// <summary>
    /// The current leader (null when none) and then every change of leader, until canceled. Consecutive values
    /// differ; tokens of successive leaders increase.
    /// </summary>
    IAsyncEnumerable<LeaderInfo?> ObserveAsync(string election, CancellationToken cancellationToken = default);

    /// <summary>Ends the leadership now so another candidate can take over. No-op when it already ended.</summary>
    Task ResignAsync(Leadership leadership, CancellationToken cancellationToken = default);
}
