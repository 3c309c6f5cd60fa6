namespace VirtualCluster.Replication;

/// <summary>
/// A delta, signature or sync message that cannot be applied: truncated, corrupt, from another version, or naming
/// something unsafe. Whatever threw it left the target as it was.
/// </summary>
public class ReplicationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A path that would leave the sync root (<c>..</c>, absolute, through a symlink) or is not a plain relative path.</summary>
public sealed class UnsafePathException(string path, string reason)
    : ReplicationException($"path \"{path}\" is refused: {reason}; sync roots only hold plain relative paths below the root")
{
    /// <summary>The path as received.</summary>
    public string Path { get; } = path;
}
