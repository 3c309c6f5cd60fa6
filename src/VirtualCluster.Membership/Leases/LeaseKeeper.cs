using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Store;

namespace VirtualCluster.Membership.Leases;

/// <summary>
/// Grants a lease and keeps it alive (a keep-alive every third of its TTL) until disposed, which revokes it.
/// <see cref="Lost"/> fires once the lease must be presumed gone: the store said it ended, or no keep-alive
/// succeeded for a whole TTL, counted from when the last successful one was sent. The store restarted the TTL
/// no earlier than that, so <see cref="Lost"/> fires no later than the store can end the lease. Anything tied to
/// the lease (a leadership, a membership) must stop when <see cref="Lost"/> fires.
/// </summary>
public sealed partial class LeaseKeeper : IAsyncDisposable
{
    private readonly IKeyValueStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    private LeaseKeeper(IKeyValueStore store, KvLease lease, TimeProvider time, ILogger logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
        Lease = lease;
    }

    /// <summary>The lease being kept alive.</summary>
    public KvLease Lease { get; }

    /// <summary>Id of the lease.</summary>
    public string LeaseId => Lease.Id;

    /// <summary>Canceled once the lease is (presumed) gone. Never canceled by <see cref="DisposeAsync"/>.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>Grants a lease of at least <paramref name="ttl"/> and starts keeping it alive.</summary>
    public static async Task<LeaseKeeper> StartAsync(IKeyValueStore store, TimeSpan ttl, TimeProvider? time = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        time ??= TimeProvider.System;
        var sentAt = time.GetTimestamp();
        var lease = await store.GrantLeaseAsync(ttl, cancellationToken).ConfigureAwait(false);
        var keeper = new LeaseKeeper(store, lease, time, logger ?? NullLogger.Instance);
        keeper._loop = keeper.KeepAliveLoopAsync(sentAt);
        return keeper;
    }

    private async Task KeepAliveLoopAsync(long lastSuccessSentAt)
    {
        var interval = Lease.Ttl / 3;
        var retry = TimeSpan.FromMilliseconds(Math.Min(500, Math.Max(50, Lease.Ttl.TotalMilliseconds / 10)));
        var wait = interval;
        try
        {
            while (true)
            {
                await Task.Delay(wait, _time, _stop.Token).ConfigureAwait(false);
                var sentAt = _time.GetTimestamp();
                var remaining = Lease.Ttl - _time.GetElapsedTime(lastSuccessSentAt);
                try
                {
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    attempt.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1));
                    if (!await _store.KeepAliveAsync(LeaseId, attempt.Token).ConfigureAwait(false))
                    {
                        Log.LeaseEnded(_logger, LeaseId);
                        break;
                    }
                    lastSuccessSentAt = sentAt;
                    wait = interval;
                }
                catch (Exception e) when (e is KeyValueStoreUnavailableException || (e is OperationCanceledException && !_stop.IsCancellationRequested))
                {
                    if (_time.GetElapsedTime(lastSuccessSentAt) >= Lease.Ttl)
                    {
                        Log.LeaseUnreachable(_logger, LeaseId, Lease.Ttl.TotalSeconds, e.Message);
                        break;
                    }
                    Log.KeepAliveFailed(_logger, LeaseId, e.Message);
                    wait = retry;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            Log.KeepAliveCrashed(_logger, LeaseId, e);
        }
        await _lost.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Stops keeping the lease alive and revokes it (best effort, a few seconds at most).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        if (!_lost.IsCancellationRequested)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await _store.RevokeLeaseAsync(LeaseId, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KeyValueStoreUnavailableException or OperationCanceledException)
            {
                Log.RevokeFailed(_logger, LeaseId, e.Message);
            }
        }
        _stop.Dispose();
    }
}
