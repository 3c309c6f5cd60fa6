using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Election;

/// <summary>
/// <see cref="ILeaderElection"/> on any <see cref="IKeyValueStore"/>. Each candidate writes the key
/// <c>{prefix}{election}/{leaseId}</c> tied to its lease; candidates queue by the revision that created their key
/// and the one with the lowest create revision leads. Its token is that create revision, so tokens of successive
/// leaders increase, and its fence is "my key is unchanged". This is the layout etcd's own election service uses,
/// so <see cref="GetLeaderAsync"/> and <see cref="ObserveAsync"/> also read elections won through etcd.
/// </summary>
/// <remarks>
/// A waiting candidate watches only its immediate predecessor, so a leader change wakes one candidate, not all.
/// When a candidate stops waiting (canceled), it deletes its key.
/// </remarks>
public sealed partial class KvLeaderElection : ILeaderElection
{
    private readonly IKeyValueStore _store;
    private readonly string _prefix;

    /// <summary>Elections on <paramref name="store"/>, their keys under <paramref name="prefix"/>.</summary>
    public KvLeaderElection(IKeyValueStore store, string prefix = "elections/")
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(prefix);
        _store = store;
        _prefix = prefix;
    }

    /// <summary>The key prefix under which candidates of <paramref name="election"/> queue.</summary>
    public string CandidatesPrefix(string election)
    {
        ValidateName(election);
        return $"{_prefix}{election}/";
    }

    /// <inheritdoc />
    public async Task<Leadership> CampaignAsync(string election, string value, string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        var dir = CandidatesPrefix(election);
        var key = dir + leaseId;
        await _store.TransactAsync([KvCondition.Absent(key)], [KvOperation.Put(key, value, leaseId)], cancellationToken).ConfigureAwait(false);
        var mine = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false) ?? throw new KvLeaseNotFoundException(leaseId);
        try
        {
            while (true)
            {
                var page = await _store.ListAsync(dir, cancellationToken).ConfigureAwait(false);
                var me = page.Entries.FirstOrDefault(e => e.Key == key);
                if (me is null || me.CreateRevision != mine.CreateRevision) throw new KvLeaseNotFoundException(leaseId);
                var predecessor = page.Entries.Where(e => e.CreateRevision < me.CreateRevision).MaxBy(e => e.CreateRevision);
                if (predecessor is null)
                    return new Leadership(election, me.Value, me.CreateRevision, leaseId, new KvCondition(key, me.ModRevision));
                await WaitForDeleteAsync(dir, page.Revision, predecessor.Key, key, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            await WithdrawAsync(mine).ConfigureAwait(false);
            throw;
        }
    }

    private async Task WithdrawAsync(KvEntry candidate)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _store.CompareAndDeleteAsync(candidate.Key, candidate.ModRevision, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KeyValueStoreUnavailableException or OperationCanceledException)
        {
            // The lease ends the candidacy anyway.
        }
    }

    private async Task WaitForDeleteAsync(string dir, long revision, string predecessor, string self, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var change in _store.WatchAsync(dir, revision, cancellationToken).ConfigureAwait(false))
            {
                if (change.Kind == KvEventKind.Delete && (change.Key == predecessor || change.Key == self)) return;
            }
        }
        catch (KvHistoryCompactedException)
        {
            // List again.
        }
    }

    /// <inheritdoc />
    public async Task<LeaderInfo?> GetLeaderAsync(string election, CancellationToken cancellationToken = default)
    {
        var page = await _store.ListAsync(CandidatesPrefix(election), cancellationToken).ConfigureAwait(false);
        return Leader(election, page.Entries);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<LeaderInfo?> ObserveAsync(string election, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var dir = CandidatesPrefix(election);
        var first = true;
        LeaderInfo? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await _store.ListAsync(dir, cancellationToken).ConfigureAwait(false);
            var candidates = page.Entries.ToDictionary(e => e.Key, StringComparer.Ordinal);
            var leader = Leader(election, candidates.Values);
            if (first || leader != last)
            {
                first = false;
                last = leader;
                yield return leader;
            }

            await using var changes = new WatchReader(_store.WatchAsync(dir, page.Revision, cancellationToken));
            while (await changes.NextAsync().ConfigureAwait(false) is { } change)
            {
                if (change.Kind == KvEventKind.Put)
                    candidates[change.Key] = new KvEntry(change.Key, change.Value ?? "", change.CreateRevision, change.Revision, change.LeaseId);
                else
                    candidates.Remove(change.Key);
                leader = Leader(election, candidates.Values);
                if (leader == last) continue;
                last = leader;
                yield return leader;
            }
            // Compacted history: list again.
        }
    }

    /// <inheritdoc />
    public async Task ResignAsync(Leadership leadership, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leadership);
        await _store.TransactAsync([leadership.Fence], [KvOperation.Delete(leadership.Fence.Key)], cancellationToken).ConfigureAwait(false);
    }

    private static LeaderInfo? Leader(string election, IEnumerable<KvEntry> candidates) =>
        candidates.MinBy(e => e.CreateRevision) is { } leader ? new LeaderInfo(election, leader.Value, leader.CreateRevision) : null;

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="election"/> is 1 to 128 letters, digits, '-', '_' or '.'.</summary>
    public static void ValidateName(string election)
    {
        ArgumentNullException.ThrowIfNull(election);
        if (!NamePattern().IsMatch(election))
            throw new ArgumentException($"Election name \"{election}\" must be 1 to 128 letters, digits, '-', '_' or '.'.", nameof(election));
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,128}$")]
    private static partial Regex NamePattern();
}
