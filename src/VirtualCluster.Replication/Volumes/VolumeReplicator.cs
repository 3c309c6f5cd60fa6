using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Replication.Sync;

namespace VirtualCluster.Replication.Volumes;

/// <summary>
/// Keeps a replica of a live volume: a FileSystemWatcher marks the volume dirty, a sync starts once writes pause for
/// <see cref="VolumeReplicatorOptions.Debounce"/> (or after <see cref="VolumeReplicatorOptions.SyncInterval"/> at the
/// latest), and a full sync runs every interval anyway for what the watcher misses. The lag it reports is the age of
/// the oldest change the holder does not have yet, measured from the watcher's first event after the last sync began:
/// the seconds of writes a sudden loss of this node would lose.
/// </summary>
public sealed partial class VolumeReplicator : IAsyncDisposable
{
    private readonly DirectorySyncSender _sender;
    private readonly ISyncTransport _transport;
    private readonly VolumeReplicatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _syncing = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private FileSystemWatcher? _watcher;
    private Task? _loop;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long? _dirtySince;
    private long? _lastEventAt;
    private long _sequence;
    private DateTimeOffset? _lastSyncAt;
    private long _bytesBehind;
    private string? _lastError;

    /// <summary>A replicator of the volume <paramref name="volumeId"/> at <paramref name="root"/> to the holder behind <paramref name="transport"/>.</summary>
    public VolumeReplicator(string volumeId, string root, ISyncTransport transport, VolumeReplicatorOptions? options = null,
        ReplicationOptions? replication = null, TimeProvider? time = null, ILogger<VolumeReplicator>? logger = null)
    {
        VolumeId = volumeId;
        _sender = new DirectorySyncSender(root, replication);
        _transport = transport;
        _options = options ?? new VolumeReplicatorOptions();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The volume this replicates.</summary>
    public string VolumeId { get; }

    /// <summary>Where replication stands now.</summary>
    public ReplicationStatus Status
    {
        get
        {
            lock (_lock)
            {
                var lag = _dirtySince is { } since ? _time.GetElapsedTime(since).TotalSeconds : 0;
                return new ReplicationStatus(VolumeId, _sequence, _lastSyncAt, lag, _bytesBehind, _lastError);
            }
        }
    }

    /// <summary>Starts watching and syncing (the first sync starts at once).</summary>
    public void Start()
    {
        if (_loop is not null) return;
        _watcher = new FileSystemWatcher(_sender.Root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.Attributes,
            InternalBufferSize = 64 * 1024,
        };
        _watcher.Changed += OnChange;
        _watcher.Created += OnChange;
        _watcher.Deleted += OnChange;
        _watcher.Renamed += OnChange;
        _watcher.Error += (_, _) => MarkDirty(); // overflow: some events are lost, a sync finds them
        _watcher.EnableRaisingEvents = true;
        MarkDirty();
        ReplicationMetrics.Register(this);
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    private void OnChange(object sender, FileSystemEventArgs e)
    {
        if (e.Name is { } name && name.Split('/').Any(part => part.StartsWith(TreeScanner.ReservedPrefix, StringComparison.Ordinal))) return;
        MarkDirty();
    }

    private void MarkDirty()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            _dirtySince ??= now;
            _lastEventAt = now;
        }
        _changed.TrySetResult();
    }

    private async Task LoopAsync(CancellationToken stop)
    {
        var nextScan = _time.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            var changed = Volatile.Read(ref _changed);
            long? dirtySince, lastEvent;
            lock (_lock) (dirtySince, lastEvent) = (_dirtySince, _lastEventAt);
            var now = _time.GetTimestamp();
            TimeSpan wait;
            if (dirtySince is { } since)
            {
                // Sync when writes paused for the debounce, or when the oldest change reached the interval.
                var quiet = _options.Debounce - _time.GetElapsedTime(lastEvent!.Value, now);
                var deadline = _options.SyncInterval - _time.GetElapsedTime(since, now);
                wait = quiet < deadline ? quiet : deadline;
            }
            else wait = _time.GetElapsedTime(now, nextScan);
            if (wait > TimeSpan.Zero)
            {
                await Task.WhenAny(changed.Task, Task.Delay(wait, _time, stop)).ConfigureAwait(false);
                if (changed.Task.IsCompleted) Interlocked.CompareExchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), changed);
                continue;
            }
            var ok = await TrySyncAsync(stop).ConfigureAwait(false);
            nextScan = _time.GetTimestamp() + (long)(_options.SyncInterval.TotalSeconds * _time.TimestampFrequency);
            if (!ok) await Task.Delay(_options.RetryDelay, _time, stop).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    private async Task<bool> TrySyncAsync(CancellationToken stop)
    {
        try
        {
            await SyncNowAsync(stop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { return true; }
        catch (Exception e) when (e is ReplicationException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Syncs now and returns once the holder committed: the cluster's <c>fsync</c>, for a service that wants a point
    /// it chooses on the replica (or a final sync before a planned move).
    /// </summary>
    public async Task<SyncReport> SyncNowAsync(CancellationToken cancellationToken = default)
    {
        await _syncing.WaitAsync(cancellationToken).ConfigureAwait(false);
        long? dirtyAtStart;
        var started = _time.GetUtcNow();
        lock (_lock)
        {
            dirtyAtStart = _dirtySince;
            _dirtySince = null; // changes from now on belong to the next sync
        }
        try
        {
            var report = await _sender.SyncAsync(_transport, cancellationToken).ConfigureAwait(false);
            var behind = _dirtySince is null ? 0 : _sender.MeasurePendingBytes();
            lock (_lock)
            {
                _sequence++;
                _lastSyncAt = started;
                _lastError = null;
                _bytesBehind = behind;
            }
            ReplicationMetrics.Synced(VolumeId, report);
            LogSynced(_logger, VolumeId, _sequence, report.FilesSent, report.BytesSent);
            return report;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var behind = SafeMeasure();
            lock (_lock)
            {
                if (dirtyAtStart is { } before && (_dirtySince is null || before < _dirtySince)) _dirtySince = before;
                _dirtySince ??= _time.GetTimestamp();
                _lastError = e.Message;
                _bytesBehind = behind;
            }
            ReplicationMetrics.Failed(VolumeId);
            LogSyncFailed(_logger, VolumeId, e.Message);
            throw;
        }
        finally { _syncing.Release(); }
    }

    private long SafeMeasure()
    {
        try { return _sender.MeasurePendingBytes(); }
        catch (IOException) { return _bytesBehind; }
    }

    /// <summary>Stops watching; with <paramref name="finalSync"/>, syncs once more first (a planned move loses nothing).</summary>
    public async Task StopAsync(bool finalSync, CancellationToken cancellationToken = default)
    {
        if (_watcher is not null) _watcher.EnableRaisingEvents = false;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null) await _loop.ConfigureAwait(false);
        if (finalSync) await SyncNowAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(finalSync: false).ConfigureAwait(false);
        ReplicationMetrics.Unregister(this);
        _watcher?.Dispose();
        _stop.Dispose();
    }
}
