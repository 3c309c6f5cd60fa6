using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using V3Electionpb;
using EtcdElection = V3Electionpb.Election;
using VirtualCluster.Membership.Election;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Etcd;

/// <summary>
/// <see cref="ILeaderElection"/> on etcd's election service (v3election: Campaign, Leader, Resign), always with
/// the caller's lease. The election named <c>x</c> is etcd's election <c>{KeyPrefix}elections/x</c>; the
/// leader's token is the create revision of its election key, and its fence is that key unchanged.
/// Observing reads the same keys through a watch (<see cref="KvLeaderElection"/>), which, unlike etcd's
/// Observe, also reports when there is no leader.
/// </summary>
public sealed class EtcdLeaderElection : ILeaderElection
{
    private const string ElectionsPrefix = "elections/";
    private readonly EtcdKeyValueStore _store;
    private readonly KvLeaderElection _keys;

    /// <summary>Elections on the etcd behind <paramref name="store"/>.</summary>
    public EtcdLeaderElection(EtcdKeyValueStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _keys = new KvLeaderElection(store, ElectionsPrefix);
    }

    private EtcdConnection Connection => _store.Connection;

    private ByteString Name(string election)
    {
        KvLeaderElection.ValidateName(election);
        return Connection.Key(ElectionsPrefix + election);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The lease is required (etcd would otherwise create one nobody renews). While waiting, the candidate also
    /// watches its own key, so a lease that ends during the campaign fails it instead of leaving it waiting.
    /// </remarks>
    public async Task<Leadership> CampaignAsync(string election, string value, string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        var name = Name(election);
        var lease = EtcdKeyValueStore.LeaseNumber(leaseId);
        var ownKey = ElectionsPrefix + election + "/" + lease.ToString("x", CultureInfo.InvariantCulture);
        var from = (await _store.ListAsync(ownKey, null, 1, cancellationToken).ConfigureAwait(false)).Revision;

        using var campaign = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var leaseEnded = WatchOwnKeyAsync(ownKey, from, campaign.Token);
        CampaignResponse response;
        try
        {
            var call = new EtcdElection.ElectionClient(Connection.Invoker).CampaignAsync(
                new CampaignRequest { Name = name, Lease = lease, Value = ByteString.CopyFromUtf8(value) }, cancellationToken: campaign.Token);
            var finished = await Task.WhenAny(call.ResponseAsync, leaseEnded).ConfigureAwait(false);
            if (finished == leaseEnded && await leaseEnded.ConfigureAwait(false))
            {
                await campaign.CancelAsync().ConfigureAwait(false);
                throw new KvLeaseNotFoundException(leaseId);
            }
            response = await call.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The campaign was canceled.", e, cancellationToken);
        }
        catch (RpcException e) when (EtcdConnection.IsLeaseNotFound(e))
        {
            throw new KvLeaseNotFoundException(leaseId);
        }
        catch (RpcException e) when (EtcdConnection.IsConnectionFailure(e))
        {
            Connection.MoveToNextEndpoint();
            throw Connection.Unavailable(e);
        }
        finally
        {
            await campaign.CancelAsync().ConfigureAwait(false);
            await leaseEnded.ConfigureAwait(false);
        }

        // etcd's campaign only waits for earlier candidates to go; make sure our own key survived the wait.
        var key = Connection.Relative(response.Leader.Key);
        var entry = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (entry is null || entry.CreateRevision != response.Leader.Rev) throw new KvLeaseNotFoundException(leaseId);
        return new Leadership(election, entry.Value, response.Leader.Rev, leaseId, new KvCondition(key, entry.ModRevision));
    }

    /// <summary>True when <paramref name="key"/> is deleted (its lease ended); false when <paramref name="cancellationToken"/> fires first.</summary>
    private async Task<bool> WatchOwnKeyAsync(string key, long afterRevision, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var change in _store.WatchAsync(key, afterRevision, cancellationToken).ConfigureAwait(false))
            {
                if (change.Key == key && change.Kind == KvEventKind.Delete) return true;
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is KvHistoryCompactedException or KeyValueStoreUnavailableException)
        {
        }
        return false;
    }

    /// <inheritdoc />
    public async Task<LeaderInfo?> GetLeaderAsync(string election, CancellationToken cancellationToken = default)
    {
        var name = Name(election);
        try
        {
            var response = await Connection.CallAsync((invoker, options) => new EtcdElection.ElectionClient(invoker).LeaderAsync(new LeaderRequest { Name = name }, options).ResponseAsync,
                idempotent: true, cancellationToken).ConfigureAwait(false);
            return response.Kv is null ? null : new LeaderInfo(election, response.Kv.Value.ToStringUtf8(), response.Kv.CreateRevision);
        }
        catch (RpcException e) when (e.Status.Detail.Contains("no leader", StringComparison.Ordinal))
        {
            return null;
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<LeaderInfo?> ObserveAsync(string election, CancellationToken cancellationToken = default)
    {
        KvLeaderElection.ValidateName(election);
        return _keys.ObserveAsync(election, cancellationToken);
    }

    /// <inheritdoc />
    public async Task ResignAsync(Leadership leadership, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leadership);
        var request = new ResignRequest
        {
            Leader = new LeaderKey
            {
                Name = Name(leadership.Election),
                Key = Connection.Key(leadership.Fence.Key),
                Rev = leadership.Token,
                Lease = EtcdKeyValueStore.LeaseNumber(leadership.LeaseId),
            },
        };
        try
        {
            await Connection.CallAsync((invoker, options) => new EtcdElection.ElectionClient(invoker).ResignAsync(request, options).ResponseAsync,
                idempotent: true, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (EtcdConnection.IsLeaseNotFound(e) || e.Status.Detail.Contains("not leader", StringComparison.Ordinal))
        {
            // The leadership already ended.
        }
    }
}
