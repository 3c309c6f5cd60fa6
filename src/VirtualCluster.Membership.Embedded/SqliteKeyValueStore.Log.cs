using Microsoft.Extensions.Logging;

namespace VirtualCluster.Membership.Embedded;

public sealed partial class SqliteKeyValueStore
{
    private static partial class Log
    {
        [LoggerMessage(6101, LogLevel.Debug, "Lease {LeaseId} expired; its keys were deleted")]
        public static partial void LeaseExpired(ILogger logger, string leaseId);

        [LoggerMessage(6102, LogLevel.Warning, "Sweeping expired leases failed: {Reason}")]
        public static partial void SweepFailed(ILogger logger, string reason);
    }
}
