using Microsoft.Extensions.Options;

namespace VirtualCluster.Replication.Volumes;

/// <summary>When a <see cref="VolumeReplicator"/> syncs.</summary>
public sealed class VolumeReplicatorOptions
{
    /// <summary>Quiet time after the last change the watcher saw before a sync starts, so a burst of writes makes one sync. Default 200 ms.</summary>
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Longest time a change waits for a sync even while writes never pause (the spec's <c>sync</c>), and the period of
    /// the full scan that catches what the watcher misses (overflowed event buffers, network file systems). Default 5 s.
    /// </summary>
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Wait after a failed sync (holder unreachable or refusing) before the next attempt. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Checks <see cref="VolumeReplicatorOptions"/>.</summary>
public sealed class VolumeReplicatorOptionsValidator : IValidateOptions<VolumeReplicatorOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, VolumeReplicatorOptions options)
    {
        var failures = new List<string>();
        if (options.Debounce < TimeSpan.Zero || options.Debounce > TimeSpan.FromMinutes(1))
            failures.Add($"Debounce is {options.Debounce}; use 0 to 1 minute");
        if (options.SyncInterval < TimeSpan.FromMilliseconds(100) || options.SyncInterval > TimeSpan.FromHours(1))
            failures.Add($"SyncInterval is {options.SyncInterval}; use 100 ms to 1 hour");
        if (options.Debounce > options.SyncInterval)
            failures.Add($"Debounce ({options.Debounce}) is longer than SyncInterval ({options.SyncInterval}); make it shorter");
        if (options.RetryDelay < TimeSpan.FromMilliseconds(10) || options.RetryDelay > TimeSpan.FromMinutes(10))
            failures.Add($"RetryDelay is {options.RetryDelay}; use 10 ms to 10 minutes");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Where a volume's replication stands.</summary>
/// <param name="VolumeId">The volume.</param>
/// <param name="Sequence">Completed syncs so far (each a consistent commit on the holder).</param>
/// <param name="LastSyncAt">When the last completed sync started, i.e. the moment the replica reflects; null before the first.</param>
/// <param name="LagSeconds">Age of the oldest change not yet on the holder (0 when caught up): the writes a loss of this node would lose.</param>
/// <param name="BytesBehind">Bytes of files changed since the last completed sync, as last measured.</param>
/// <param name="LastError">Why the last attempt failed; null when it succeeded.</param>
public sealed record ReplicationStatus(string VolumeId, long Sequence, DateTimeOffset? LastSyncAt, double LagSeconds, long BytesBehind, string? LastError);
