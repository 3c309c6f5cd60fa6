using System.Globalization;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Etcd;

/// <summary>
/// <see cref="IKeyValueStore"/> on etcd v3: keys live under <see cref="EtcdMembershipOptions.KeyPrefix"/>,
/// revisions are etcd's, transactions are etcd transactions, leases are etcd leases (TTL in whole seconds, at
/// least etcd's minimum), and watches are etcd watch streams that reopen from the last delivered revision when
/// the connection breaks.
/// </summary>
public sealed partial class EtcdKeyValueStore : IKeyValueStore, IDisposable
{
    /// <summary>Most conditions and operations in one transaction (etcd's default --max-txn-ops is 128).</summary>
    public const int MaxTransactionSize = 128;

    private readonly EtcdConnection _connection;
    private readonly ILogger _logger;

    /// <summary>Connects (lazily) to the members in <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public EtcdKeyValueStore(EtcdMembershipOptions options, ILogger<EtcdKeyValueStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = EtcdMembershipOptionsValidator.Problems(options);
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _connection = new EtcdConnection(options, _logger);
    }

    internal EtcdConnection Connection => _connection;

    /// <inheritdoc />
    public async Task<KvEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var request = new RangeRequest { Key = _connection.Key(key) };
        var response = await _connection.CallAsync((invoker, options) => new KV.KVClient(invoker).RangeAsync(request, options).ResponseAsync,
            idempotent: true, cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : Entry(response.Kvs[0]);
    }

    /// <inheritdoc />
    public async Task<KvPage> ListAsync(string prefix, string? startKey = null, int limit = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var from = _connection.Key(prefix);
        var request = new RangeRequest
        {
            Key = startKey is not null && string.CompareOrdinal(startKey, prefix) > 0 ? _connection.Key(startKey) : from,
            RangeEnd = EtcdConnection.PrefixEnd(from),
            Limit = Math.Max(0, limit),
        };
        var response = await _connection.CallAsync((invoker, options) => new KV.KVClient(invoker).RangeAsync(request, options).ResponseAsync,
            idempotent: true, cancellationToken).ConfigureAwait(false);
        return new KvPage(response.Kvs.Select(Entry).ToList(), response.Header.Revision);
    }

    /// <inheritdoc />
    public async Task<KvTransactionResult> TransactAsync(IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations, CancellationToken cancellationToken = default)
    {
        KvTransactionRules.Validate(conditions, operations, MaxTransactionSize);
        var request = new TxnRequest();
        foreach (var condition in conditions)
        {
            request.Compare.Add(condition.ModRevision == 0
                ? new Compare { Key = _connection.Key(condition.Key), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 }
                : new Compare { Key = _connection.Key(condition.Key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = condition.ModRevision });
        }
        foreach (var operation in operations) request.Success.Add(Operation(operation));
        try
        {
            var response = await _connection.CallAsync((invoker, options) => new KV.KVClient(invoker).TxnAsync(request, options).ResponseAsync,
                idempotent: false, cancellationToken).ConfigureAwait(false);
            return new KvTransactionResult(response.Succeeded, response.Header.Revision);
        }
        catch (RpcException e) when (EtcdConnection.IsLeaseNotFound(e))
        {
            throw new KvLeaseNotFoundException(operations.FirstOrDefault(o => o.LeaseId is not null)?.LeaseId ?? "?");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            throw new ArgumentException($"etcd refused the transaction: {e.Status.Detail}", nameof(operations), e);
        }
    }

    private RequestOp Operation(KvOperation operation) => operation.Kind switch
    {
        KvOperationKind.Put => new RequestOp
        {
            RequestPut = new PutRequest { Key = _connection.Key(operation.Key), Value = ByteString.CopyFromUtf8(operation.Value), Lease = LeaseNumber(operation.LeaseId) },
        },
        KvOperationKind.Delete => new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = _connection.Key(operation.Key) } },
        _ => new RequestOp
        {
            RequestDeleteRange = new DeleteRangeRequest { Key = _connection.Key(operation.Key), RangeEnd = EtcdConnection.PrefixEnd(_connection.Key(operation.Key)) },
        },
    };

    /// <inheritdoc />
    /// <remarks>etcd counts TTLs in whole seconds: the TTL is rounded up, and etcd raises it to its own minimum.</remarks>
    public async Task<KvLease> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        var request = new LeaseGrantRequest { TTL = (long)Math.Ceiling(ttl.TotalSeconds) };
        var response = await _connection.CallAsync((invoker, options) => new Lease.LeaseClient(invoker).LeaseGrantAsync(request, options).ResponseAsync,
            idempotent: false, cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(response.Error))
            throw new KeyValueStoreUnavailableException($"etcd refused a lease: {response.Error}");
        return new KvLease(response.ID.ToString(CultureInfo.InvariantCulture), TimeSpan.FromSeconds(response.TTL));
    }

    /// <inheritdoc />
    public async Task<bool> KeepAliveAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        if (!TryParseLease(leaseId, out var id)) return false;
        var ttl = await _connection.CallAsync(async (invoker, options) =>
        {
            using var call = new Lease.LeaseClient(invoker).LeaseKeepAlive(options);
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = id }, options.CancellationToken).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            return await call.ResponseStream.MoveNext(options.CancellationToken).ConfigureAwait(false) ? call.ResponseStream.Current.TTL : 0;
        }, idempotent: true, cancellationToken).ConfigureAwait(false);
        return ttl > 0;
    }

    /// <inheritdoc />
    public async Task RevokeLeaseAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        if (!TryParseLease(leaseId, out var id)) return;
        try
        {
            await _connection.CallAsync((invoker, options) => new Lease.LeaseClient(invoker).LeaseRevokeAsync(new LeaseRevokeRequest { ID = id }, options).ResponseAsync,
                idempotent: true, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (EtcdConnection.IsLeaseNotFound(e))
        {
            // Already ended.
        }
    }

    internal static long LeaseNumber(string? leaseId)
    {
        if (leaseId is null) return 0;
        return TryParseLease(leaseId, out var id) ? id : throw new KvLeaseNotFoundException(leaseId);
    }

    internal static bool TryParseLease(string leaseId, out long id) =>
        long.TryParse(leaseId, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0;

    private KvEntry Entry(KeyValue kv) =>
        new(_connection.Relative(kv.Key), kv.Value.ToStringUtf8(), kv.CreateRevision, kv.ModRevision,
            kv.Lease == 0 ? null : kv.Lease.ToString(CultureInfo.InvariantCulture));

    /// <summary>Closes the channels.</summary>
    public void Dispose() => _connection.Dispose();
}
