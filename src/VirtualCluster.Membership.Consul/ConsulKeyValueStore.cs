using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Membership.Consul.Client;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Consul;

/// <summary>
/// <see cref="IKeyValueStore"/> on Consul's KV store. Revisions are Consul's raft indexes (ModifyIndex /
/// CreateIndex). A lease is a Consul session (TTL, behavior "delete"); a key written with a lease is locked by
/// that session, so Consul deletes it when the session ends. Transactions are /v1/txn transactions.
/// </summary>
/// <remarks>
/// <para>Consul keeps no history, so every transaction also writes a journal entry (<c>_journal/…</c> under the
/// prefix) listing its changes, in the same transaction and thus at the same index. Watches replay the journal in
/// index order, which lets a watch resume from any revision the journal still holds
/// (<see cref="ConsulMembershipOptions.JournalEntries"/>). Deletions that Consul makes by itself when a session
/// ends are not in the journal: a running watch sees them by comparing its blocking reads of the prefix, at the
/// index of the read that showed them, but a watch resumed later does not replay them.</para>
/// <para>Keys starting with <c>_journal</c> are reserved. A transaction holds at most
/// <see cref="MaxTransactionSize"/> conditions and operations (Consul's limit is 64 in all; the journal and lock
/// bookkeeping use the rest). Writes only through this class keep the journal complete.</para>
/// </remarks>
public sealed partial class ConsulKeyValueStore : IKeyValueStore
{
    /// <summary>Most conditions and operations accepted in one transaction.</summary>
    public const int MaxTransactionSize = 40;

    private const string JournalDir = "_journal/";
    private const string JournalTrimmedKey = "_journal-trimmed";
    private const int MaxAttempts = 20;
    private readonly ConsulClient _client;
    private readonly ConsulMembershipOptions _options;
    private readonly ILogger _logger;
    private int _writes;

    /// <summary>The store behind <paramref name="client"/>.</summary>
    public ConsulKeyValueStore(ConsulClient client, ConsulMembershipOptions options, ILogger<ConsulKeyValueStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        var problems = ConsulMembershipOptionsValidator.Problems(options);
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        _client = client;
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    internal ConsulClient Client => _client;

    internal string Full(string key) => _options.KeyPrefix + key;

    internal string Relative(string key) => key.StartsWith(_options.KeyPrefix, StringComparison.Ordinal) ? key[_options.KeyPrefix.Length..] : key;

    private static bool IsReserved(string relativeKey) => relativeKey.StartsWith("_journal", StringComparison.Ordinal);

    private static void ThrowIfReserved(string key)
    {
        if (IsReserved(key)) throw new ArgumentException($"Keys starting with \"_journal\" are reserved by the Consul provider: \"{key}\".", nameof(key));
    }

    /// <inheritdoc />
    public async Task<KvEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (IsReserved(key)) return null;
        var result = await _client.KvGetAsync(Full(key), cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.Value is null ? null : Entry(result.Value);
    }

    /// <inheritdoc />
    public async Task<KvPage> ListAsync(string prefix, string? startKey = null, int limit = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var result = await _client.KvListAsync(Full(prefix), cancellationToken: cancellationToken).ConfigureAwait(false);
        IEnumerable<KvEntry> entries = result.Value.Select(Entry).Where(e => !IsReserved(e.Key) && e.Key.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(e => e.Key, Utf8Order.Instance);
        if (startKey is not null) entries = entries.Where(e => Utf8Order.Instance.Compare(e.Key, startKey) >= 0);
        if (limit > 0) entries = entries.Take(limit);
        return new KvPage(entries.ToList(), result.Index);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads the keys it puts first, to release another session's lock on them (a put replaces the lease), and
    /// guards those reads with index checks; when only such a guard fails, it reads and tries again.
    /// </remarks>
    public async Task<KvTransactionResult> TransactAsync(IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations, CancellationToken cancellationToken = default)
    {
        KvTransactionRules.Validate(conditions, operations, MaxTransactionSize);
        foreach (var operation in operations) ThrowIfReserved(operation.Key);
        for (var attempt = 0; ; attempt++)
        {
            var (ops, userConditions, changes, journalKey) = await BuildAsync(conditions, operations, cancellationToken).ConfigureAwait(false);
            var response = await _client.TxnAsync(ops, cancellationToken).ConfigureAwait(false);
            if (response.Applied)
            {
                var revision = journalKey is null
                    ? await CurrentRevisionAsync(cancellationToken).ConfigureAwait(false)
                    : response.Results?.Select(r => r.KV).FirstOrDefault(kv => kv?.Key == journalKey)?.ModifyIndex ?? 0;
                if (changes > 0 && Interlocked.Increment(ref _writes) % 50 == 0) await TrimJournalAsync(cancellationToken).ConfigureAwait(false);
                return new KvTransactionResult(true, revision);
            }
            var errors = response.Errors ?? [];
            if (errors.FirstOrDefault(e => e.What.Contains("session", StringComparison.OrdinalIgnoreCase)) is { } sessionError
                && ops[sessionError.OpIndex].KV.Session is { } session && operations.Any(o => o.LeaseId == session))
                throw new KvLeaseNotFoundException(session);
            if (errors.Count == 0 || errors.Any(e => e.OpIndex < userConditions))
                return new KvTransactionResult(false, await CurrentRevisionAsync(cancellationToken).ConfigureAwait(false));
            if (attempt >= MaxAttempts)
                throw new KeyValueStoreUnavailableException($"Consul kept rejecting the transaction: {string.Join("; ", errors.Select(e => e.What))}");
            Log.GuardConflict(_logger, string.Join("; ", errors.Select(e => e.What)));
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 10 * (attempt + 1))), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(List<ConsulTxnOp> Ops, int UserConditions, int Changes, string? JournalKey)> BuildAsync(
        IReadOnlyList<KvCondition> conditions, IReadOnlyList<KvOperation> operations, CancellationToken cancellationToken)
    {
        var ops = conditions.Select(c => new ConsulTxnOp(c.ModRevision == 0
            ? new ConsulTxnKvOp("check-not-exists", Full(c.Key))
            : new ConsulTxnKvOp("check-index", Full(c.Key), Index: c.ModRevision))).ToList();
        var userConditions = ops.Count;
        var puts = operations.Where(o => o.Kind == KvOperationKind.Put).Select(o => o.Key).Distinct().ToList();
        var current = await Task.WhenAll(puts.Select(k => _client.KvGetAsync(Full(k), cancellationToken: cancellationToken))).ConfigureAwait(false);
        var before = puts.Zip(current, (k, r) => (k, r.Value)).ToDictionary(x => x.k, x => x.Value, StringComparer.Ordinal);
        // Guard the reads only where a lock changes hands (an unlock names the holder we read); a plain set of an
        // unlocked key needs no guard, so concurrent writers of one key do not conflict.
        var leased = operations.Where(o => o.Kind == KvOperationKind.Put && o.LeaseId is not null).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var (key, pair) in before)
        {
            if (!leased.Contains(key) && string.IsNullOrEmpty(pair?.Session)) continue;
            ops.Add(new ConsulTxnOp(pair is null ? new ConsulTxnKvOp("check-not-exists", Full(key)) : new ConsulTxnKvOp("check-index", Full(key), Index: pair.ModifyIndex)));
        }

        var journal = new List<JournalChange>();
        foreach (var operation in operations)
        {
            switch (operation.Kind)
            {
                case KvOperationKind.Put:
                    var held = before[operation.Key]?.Session;
                    var value = Encode(operation.Value!);
                    if (!string.IsNullOrEmpty(held) && held != operation.LeaseId)
                        ops.Add(new ConsulTxnOp(new ConsulTxnKvOp("unlock", Full(operation.Key), value, Session: held)));
                    ops.Add(new ConsulTxnOp(operation.LeaseId is null
                        ? new ConsulTxnKvOp("set", Full(operation.Key), value)
                        : new ConsulTxnKvOp("lock", Full(operation.Key), value, Session: operation.LeaseId)));
                    journal.Add(new JournalChange("p", operation.Key, operation.Value, operation.LeaseId, before[operation.Key]?.CreateIndex ?? 0));
                    break;
                case KvOperationKind.Delete:
                    ops.Add(new ConsulTxnOp(new ConsulTxnKvOp("delete", Full(operation.Key))));
                    journal.Add(new JournalChange("d", operation.Key, null, null, 0));
                    break;
                default:
                    var keys = await _client.KvKeysAsync(Full(operation.Key), cancellationToken).ConfigureAwait(false);
                    ops.Add(new ConsulTxnOp(new ConsulTxnKvOp("delete-tree", Full(operation.Key))));
                    journal.AddRange(keys.Select(Relative).Where(k => !IsReserved(k)).Order(Utf8Order.Instance).Select(k => new JournalChange("d", k, null, null, 0)));
                    break;
            }
        }
        if (operations.Count == 0) return (ops, userConditions, 0, null);
        var journalKey = Full(JournalDir + Guid.NewGuid().ToString("N"));
        ops.Add(new ConsulTxnOp(new ConsulTxnKvOp("set", journalKey, Encode(JsonSerializer.Serialize(journal, ConsulClient.Json)))));
        return (ops, userConditions, journal.Count, journalKey);
    }

    /// <summary>The index of the newest journal entry: the revision of the last change made through this provider.</summary>
    private async Task<long> CurrentRevisionAsync(CancellationToken cancellationToken) =>
        (await _client.KvListAsync(Full(JournalDir), cancellationToken: cancellationToken).ConfigureAwait(false)).Index;

    /// <inheritdoc />
    /// <remarks>Consul accepts session TTLs from 10 s; shorter ones are raised to <see cref="ConsulMembershipOptions.MinimumSessionTtl"/>.</remarks>
    public async Task<KvLease> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        var granted = TimeSpan.FromSeconds(Math.Ceiling(Math.Max(ttl.TotalSeconds, _options.MinimumSessionTtl.TotalSeconds)));
        var id = await _client.SessionCreateAsync(new ConsulSessionCreate("vcluster-lease", ConsulClient.Duration(granted), "delete",
            ConsulClient.Duration(_options.SessionLockDelay)), cancellationToken).ConfigureAwait(false);
        return new KvLease(id, granted);
    }

    /// <inheritdoc />
    public Task<bool> KeepAliveAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        return _client.SessionRenewAsync(leaseId, cancellationToken);
    }

    /// <inheritdoc />
    public Task RevokeLeaseAsync(string leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(leaseId);
        return _client.SessionDestroyAsync(leaseId, cancellationToken);
    }

    private KvEntry Entry(ConsulKvPair pair) =>
        new(Relative(pair.Key), Decode(pair.Value), pair.CreateIndex, pair.ModifyIndex, string.IsNullOrEmpty(pair.Session) ? null : pair.Session);

    internal static string Encode(string value) => Convert.ToBase64String(Encoding.UTF8.GetBytes(value));

    internal static string Decode(string? base64) => base64 is null ? "" : Encoding.UTF8.GetString(Convert.FromBase64String(base64));

    /// <summary>A change as the journal records it: "p" put or "d" delete, key, value, lease, create index when known (0: this one).</summary>
    internal sealed record JournalChange(string T, string K, string? V, string? L, long C);

    /// <summary>Orders strings by their UTF-8 bytes, as Consul and etcd order keys.</summary>
    internal sealed class Utf8Order : IComparer<string>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(string? x, string? y) =>
            Encoding.UTF8.GetBytes(x ?? "").AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y ?? ""));
    }

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
