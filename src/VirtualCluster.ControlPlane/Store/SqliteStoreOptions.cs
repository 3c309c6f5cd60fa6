namespace VirtualCluster.ControlPlane.Store;

/// <summary>Settings of <see cref="SqliteClusterStore"/>.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>
    /// Log lines kept per instance; when more arrive, the oldest are deleted. Default 2000. Must be at least 1.
    /// </summary>
    public int MaxLogLinesPerInstance { get; set; } = 2000;

    /// <summary>
    /// How long an operation waits for the database lock held by another writer (for example a second
    /// process on the same file) before it fails. Default 30 seconds. Must be positive.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
