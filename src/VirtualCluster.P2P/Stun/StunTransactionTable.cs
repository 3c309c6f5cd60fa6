using System.Collections.Concurrent;
using System.Net;

namespace VirtualCluster.P2P.Stun;

/// <summary>
/// Retransmission schedule of a STUN request over UDP (RFC 8489 §6.2.1): sent at 0, RTO, 3·RTO, 7·RTO ... (RTO
/// doubling, optionally capped), <see cref="MaxTransmissions"/> times (Rc, default 7), then the transaction fails
/// after <see cref="FinalWaitMultiplier"/>·RTO (Rm, default 16) without a response: 39.5 s with RTO = 500 ms.
/// </summary>
public sealed record StunRetransmission(TimeSpan InitialRto, int MaxTransmissions = 7, int FinalWaitMultiplier = 16, TimeSpan? MaxRto = null)
{
    /// <summary>The RFC 8489 defaults: RTO 500 ms, Rc 7, Rm 16.</summary>
    public static StunRetransmission Default { get; } = new(TimeSpan.FromMilliseconds(500));
}

/// <summary>The outcome of a STUN transaction: a response (success or error) and where it came from, or a timeout.</summary>
public sealed record StunTransactionResult(StunMessage? Response, IPEndPoint? Source)
{
    /// <summary>True when no response arrived in time.</summary>
    public bool TimedOut => Response is null;
}

/// <summary>
/// Outstanding client transactions of one agent or client, keyed by transaction id, with retransmission timers on a
/// <see cref="TimeProvider"/>. Responses arriving by any path (directly, or unwrapped from TURN) complete them
/// through <see cref="TryComplete"/>.
/// </summary>
public sealed class StunTransactionTable(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<StunTransactionId, Transaction> _pending = new();

    /// <summary>The clock used for retransmissions.</summary>
    public TimeProvider TimeProvider { get; } = timeProvider;

    /// <summary>Transactions in flight.</summary>
    public int Count => _pending.Count;

    /// <summary>
    /// Starts a transaction: calls <paramref name="transmit"/> now and at each retransmission. The task completes with the
    /// first response carrying the same transaction id, or with a timeout result; cancellation ends it early.
    /// </summary>
    public Task<StunTransactionResult> Start(StunTransactionId id, Action transmit, StunRetransmission policy, CancellationToken cancellationToken = default) =>
        Start(id, transmit, policy, completed: null, cancellationToken);

    /// <summary>
    /// Starts a transaction like <see cref="Start(StunTransactionId, Action, StunRetransmission, CancellationToken)"/>, and
    /// also calls <paramref name="completed"/> synchronously, on the thread that received the response (or ran the final
    /// timer), when a response or the timeout ends it; not when it is cancelled. ICE checks use this: the task's
    /// continuation would wait for a thread-pool thread, a wake-up per check that costs milliseconds on a loaded machine.
    /// </summary>
    public Task<StunTransactionResult> Start(StunTransactionId id, Action transmit, StunRetransmission policy,
        Action<StunTransactionResult>? completed, CancellationToken cancellationToken = default)
    {
        var transaction = new Transaction(this, id, transmit, policy) { Completed = completed };
        if (!_pending.TryAdd(id, transaction)) throw new InvalidOperationException($"transaction {id} is already in flight");
        if (cancellationToken.CanBeCanceled)
            transaction.Registration = cancellationToken.Register(() => transaction.Finish(null, canceled: true));
        transaction.Begin();
        return transaction.Completion.Task;
    }

    /// <summary>Completes the transaction a response belongs to. False when none is pending (late or forged response).</summary>
    public bool TryComplete(StunMessage response, IPEndPoint source)
    {
        if (response.Class is not (StunClass.SuccessResponse or StunClass.ErrorResponse)) return false;
        if (!_pending.TryGetValue(response.TransactionId, out var transaction)) return false;
        transaction.Finish(new StunTransactionResult(response, source), canceled: false);
        return true;
    }

    /// <summary>
    /// Stops retransmitting a request but keeps waiting for its response until the transaction's usual end (RFC 8445
    /// §7.3.1.4: a check superseded by a triggered check still counts if its response comes). False when not pending.
    /// </summary>
    public bool StopRetransmitting(StunTransactionId id)
    {
        if (!_pending.TryGetValue(id, out var transaction)) return false;
        transaction.Quiet = true;
        return true;
    }

    /// <summary>Ends every transaction as timed out (used at shutdown).</summary>
    public void CancelAll()
    {
        foreach (var t in _pending.Values) t.Finish(null, canceled: true);
    }

    private sealed class Transaction(StunTransactionTable table, StunTransactionId id, Action transmit, StunRetransmission policy)
    {
        private readonly object _gate = new();
        private ITimer? _timer;
        private int _sent;
        private TimeSpan _rto = policy.InitialRto;
        private bool _done;

        public TaskCompletionSource<StunTransactionResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }
        public Action<StunTransactionResult>? Completed { get; init; }
        public volatile bool Quiet;

        public void Begin()
        {
            lock (_gate)
            {
                _timer = table.TimeProvider.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            OnTimer();
        }

        private void OnTimer()
        {
            StunTransactionResult? timedOut = null;
            lock (_gate)
            {
                if (_done) return;
                if (_sent >= policy.MaxTransmissions)
                {
                    // the final wait (Rm·RTO) has passed
                    timedOut = new StunTransactionResult(null, null);
                    FinishLocked(timedOut);
                }
                else
                {
                    _sent++;
                    TimeSpan next;
                    if (_sent >= policy.MaxTransmissions) next = policy.InitialRto * policy.FinalWaitMultiplier;
                    else
                    {
                        next = _rto;
                        _rto *= 2;
                        if (policy.MaxRto is { } max && _rto > max) _rto = max;
                    }
                    _timer!.Change(next, Timeout.InfiniteTimeSpan);
                    if (Quiet && _sent > 1) return; // superseded: waits for a late response, sends no more
                }
            }
            if (timedOut is not null) Completed?.Invoke(timedOut);
            else transmit();
        }

        public void Finish(StunTransactionResult? result, bool canceled)
        {
            result ??= new StunTransactionResult(null, null);
            lock (_gate)
            {
                if (_done) return;
                FinishLocked(result);
            }
            if (!canceled) Completed?.Invoke(result);
        }

        private void FinishLocked(StunTransactionResult result)
        {
            _done = true;
            _timer?.Dispose();
            table._pending.TryRemove(id, out _);
            Registration.Unregister();
            Completion.TrySetResult(result);
        }
    }
}
