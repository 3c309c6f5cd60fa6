using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Membership.ClusterState;
using VirtualCluster.Membership.Election;
using VirtualCluster.Membership.Embedded;
using VirtualCluster.Membership.Leases;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Store;

/// <summary>
/// The embedded cluster state: <see cref="KvClusterStore"/> on the SQLite key-value store (<c>state.db</c> in the
/// data directory), the same store code as etcd and Consul, fenced by a one-member election so that the write
/// path is the highly available one. A lock file keeps a second process off the data directory; an older
/// <c>cluster.db</c> there is imported on first open.
/// </summary>
public sealed class EmbeddedClusterState : IAsyncDisposable, IDisposable
{
    /// <summary>File name of the key-value store in the data directory.</summary>
    public const string FileName = "state.db";

    private const string Election = "embedded-control-plane";
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(30);
    private readonly FileStream _lock;
    private readonly LeaseKeeper _keeper;
    private readonly LeadershipFence _fence;
    private int _disposed;

    private EmbeddedClusterState(FileStream fileLock, SqliteKeyValueStore kv, LeaseKeeper keeper, LeadershipFence fence, KvClusterStore store)
    {
        _lock = fileLock;
        KeyValueStore = kv;
        _keeper = keeper;
        _fence = fence;
        Store = store;
    }

    /// <summary>The key-value store underneath.</summary>
    public SqliteKeyValueStore KeyValueStore { get; }

    /// <summary>The cluster store.</summary>
    public KvClusterStore Store { get; }

    /// <summary>Opens the state in <paramref name="dataDirectory"/>, importing an older <c>cluster.db</c> found there.</summary>
    /// <exception cref="InvalidOperationException">Another process uses the data directory, or a file in it cannot be opened.</exception>
    public static async Task<EmbeddedClusterState> OpenAsync(string dataDirectory, ILoggerFactory? loggers = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        loggers ??= NullLoggerFactory.Instance;
        Directory.CreateDirectory(dataDirectory);
        var lockPath = Path.Combine(dataDirectory, "control-plane.lock");
        FileStream fileLock;
        try
        {
            // FileShare.None takes an exclusive advisory lock that the OS drops when the process dies, even by kill -9.
            fileLock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"Another control plane is using the data directory '{dataDirectory}' (its database is locked by {lockPath}). Stop it, or pick another --data-dir.", e);
        }
        SqliteKeyValueStore? kv = null;
        LeaseKeeper? keeper = null;
        try
        {
            // Real time for leases whatever clock the control plane runs on: virtual time must not expire them.
            kv = new SqliteKeyValueStore(new EmbeddedMembershipOptions { Path = Path.Combine(dataDirectory, FileName) }, TimeProvider.System,
                loggers.CreateLogger<SqliteKeyValueStore>());
            var election = new KvLeaderElection(kv);
            // The lock proves every earlier candidate's process is gone: end their leases rather than wait them out.
            foreach (var stale in (await kv.ListAsync(election.CandidatesPrefix(Election), cancellationToken: ct).ConfigureAwait(false)).Entries)
            {
                if (stale.LeaseId is not null) await kv.RevokeLeaseAsync(stale.LeaseId, ct).ConfigureAwait(false);
            }
            keeper = await LeaseKeeper.StartAsync(kv, LeaseTtl, TimeProvider.System, loggers.CreateLogger<LeaseKeeper>(), ct).ConfigureAwait(false);
            var fence = new LeadershipFence();
            fence.Set(await election.CampaignAsync(Election, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), keeper.LeaseId, ct).ConfigureAwait(false));
            keeper.Lost.Register(() => fence.Set(null));
            // One process writes this store: transactions may be as large as SQLite's limit, so plans take fewer of them.
            var store = new KvClusterStore(kv, fence, new KvClusterStoreOptions { MaxTransactionSize = SqliteKeyValueStore.MaxTransactionSize });
            await LegacyStoreImport.RunAsync(dataDirectory, store, new KvClusterStoreOptions().MaxEvents, ct).ConfigureAwait(false);
            return new EmbeddedClusterState(fileLock, kv, keeper, fence, store);
        }
        catch
        {
            if (keeper is not null) await keeper.DisposeAsync().ConfigureAwait(false);
            if (kv is not null) await kv.DisposeAsync().ConfigureAwait(false);
            await fileLock.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Ends the leadership and closes the store and the lock.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _fence.Set(null);
        await _keeper.DisposeAsync().ConfigureAwait(false);
        await KeyValueStore.DisposeAsync().ConfigureAwait(false);
        await _lock.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc cref="DisposeAsync" />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
