namespace VirtualCluster.Store;

/// <summary>A watch asked for changes the store no longer keeps.</summary>
public sealed class KvHistoryCompactedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="requestedRevision">The first revision the watch needed.</param>
    /// <param name="compactedRevision">The oldest revision the store still has history for, or 0 when unknown.</param>
    public KvHistoryCompactedException(long requestedRevision, long compactedRevision)
        : base($"The store no longer keeps changes from revision {requestedRevision} (history starts at {compactedRevision}); list the keys again and watch from the list's revision.")
    {
        RequestedRevision = requestedRevision;
        CompactedRevision = compactedRevision;
    }

    /// <summary>The first revision the watch needed.</summary>
    public long RequestedRevision { get; }

    /// <summary>The oldest revision the store still has history for, or 0 when unknown.</summary>
    public long CompactedRevision { get; }
}

/// <summary>A write named a lease that does not exist or has ended.</summary>
public sealed class KvLeaseNotFoundException(string leaseId)
    : Exception($"Lease {leaseId} does not exist or has ended; grant a new lease and write the keys again.")
{
    /// <summary>The lease that was not found.</summary>
    public string LeaseId { get; } = leaseId;
}

/// <summary>The store's server could not be reached or did not answer in time.</summary>
public sealed class KeyValueStoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KeyValueStoreUnavailableException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>
/// A fenced write was refused because the writer is no longer (or not yet) the leader: another process may
/// have taken over. The write was not applied.
/// </summary>
public sealed class NotLeaderException(string message) : Exception(message);
