using System.Runtime.CompilerServices;
using VirtualCluster.Membership.Consul.Client;
using VirtualCluster.Membership.Election;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Consul;

/// <summary>
/// <see cref="ILeaderElection"/> with Consul's lock pattern: the election is the key <c>{KeyPrefix}elections/{name}</c>;
/// a candidate acquires it with its session (<c>?acquire=</c>), waits with blocking queries while another session
/// holds it, and resigns by deleting it. The token is the key's ModifyIndex right after the acquisition (a raft
/// index, so later leaders get greater tokens), and the fence is "the key's ModifyIndex is unchanged".
/// </summary>
/// <remarks>
/// Sessions are the provider's leases (behavior "delete"): when the leader's session ends, Consul deletes the key
/// and, after the session's lock delay, the next candidate acquires it.
/// </remarks>
public sealed class ConsulLeaderElection : ILeaderElection
{
    private readonly ConsulKeyValueStore _store;
    private readonly ConsulMembershipOptions _options;

    /// <summary>Elections on the Consul behind <paramref name="store"/>.</summary>
    public ConsulLeaderElection(ConsulKeyValueStore store, ConsulMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _options = options;
    }

    private ConsulClient Client => _store.Client;

    private static string Key(string election)
    {
        KvLeaderElection.ValidateName(election);
        return "elections/" + election;
    }

    /// <inheritdoc />
    public async Task<Leadership> CampaignAsync(string election, string value, string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        var key = Key(election);
        var full = _store.Full(key);
        var pause = TimeSpan.FromMilliseconds(Math.Clamp(_options.SessionLockDelay.TotalMilliseconds / 4, 50, 1000));
        while (true)
        {
            var current = await Client.KvGetAsync(full, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (current.Value?.Session == leaseId) return Leadership(election, key, current.Value, leaseId);
            if (string.IsNullOrEmpty(current.Value?.Session))
            {
                if (await Client.KvAcquireAsync(full, value, leaseId, cancellationToken).ConfigureAwait(false)) continue; // read back the index
                // Free but not acquirable: the lock delay after the previous holder's session ended.
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (await Client.SessionInfoAsync(leaseId, cancellationToken).ConfigureAwait(false) is null) throw new KvLeaseNotFoundException(leaseId);
            await Client.KvGetAsync(full, current.Index, cancellationToken).ConfigureAwait(false); // wait for a change
        }
    }

    private static Leadership Leadership(string election, string key, ConsulKvPair pair, string leaseId) =>
        new(election, ConsulKeyValueStore.Decode(pair.Value), pair.ModifyIndex, leaseId, new KvCondition(key, pair.ModifyIndex));

    /// <inheritdoc />
    public async Task<LeaderInfo?> GetLeaderAsync(string election, CancellationToken cancellationToken = default)
    {
        var result = await Client.KvGetAsync(_store.Full(Key(election)), cancellationToken: cancellationToken).ConfigureAwait(false);
        return Info(election, result.Value);
    }

    private static LeaderInfo? Info(string election, ConsulKvPair? pair) =>
        pair is null || string.IsNullOrEmpty(pair.Session) ? null : new LeaderInfo(election, ConsulKeyValueStore.Decode(pair.Value), pair.ModifyIndex);

    /// <inheritdoc />
    public async IAsyncEnumerable<LeaderInfo?> ObserveAsync(string election, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var full = _store.Full(Key(election));
        var first = true;
        LeaderInfo? last = null;
        long index = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ConsulResult<ConsulKvPair?> result;
            try
            {
                result = await Client.KvGetAsync(full, index > 0 ? index : null, cancellationToken).ConfigureAwait(false);
            }
            catch (KeyValueStoreUnavailableException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                continue;
            }
            var leader = Info(election, result.Value);
            if (first || leader != last)
            {
                first = false;
                last = leader;
                yield return leader;
            }
            index = result.Index < index ? 0 : Math.Max(result.Index, 1);
        }
    }

    /// <inheritdoc />
    public async Task ResignAsync(Leadership leadership, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leadership);
        await Client.TxnAsync([new ConsulTxnOp(new ConsulTxnKvOp("delete-cas", _store.Full(leadership.Fence.Key), Index: leadership.Fence.ModRevision))],
            cancellationToken).ConfigureAwait(false);
    }
}
