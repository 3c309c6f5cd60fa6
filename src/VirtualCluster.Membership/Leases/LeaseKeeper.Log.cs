using Microsoft.Extensions.Logging;

namespace VirtualCluster.Membership.Leases;

public sealed partial class LeaseKeeper
{
    private static partial class Log
    {
        [LoggerMessage(6001, LogLevel.Warning, "Lease {LeaseId} ended: the store no longer knows it")]
        public static partial void LeaseEnded(ILogger logger, string leaseId);

        [LoggerMessage(6002, LogLevel.Warning, "Lease {LeaseId} presumed lost: no keep-alive succeeded for {TtlSeconds} s ({Reason})")]
        public static partial void LeaseUnreachable(ILogger logger, string leaseId, double ttlSeconds, string reason);

        [LoggerMessage(6003, LogLevel.Debug, "Keep-alive of lease {LeaseId} failed, retrying: {Reason}")]
        public static partial void KeepAliveFailed(ILogger logger, string leaseId, string reason);

        [LoggerMessage(6004, LogLevel.Error, "Keeping lease {LeaseId} alive failed unexpectedly; the lease is presumed lost")]
        public static partial void KeepAliveCrashed(ILogger logger, string leaseId, Exception exception);

        [LoggerMessage(6005, LogLevel.Debug, "Revoking lease {LeaseId} failed (it expires by itself): {Reason}")]
        public static partial void RevokeFailed(ILogger logger, string leaseId, string reason);
    }
}
