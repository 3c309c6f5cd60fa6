using Microsoft.Extensions.Logging;

namespace VirtualCluster.Membership.Etcd;

public sealed partial class EtcdKeyValueStore
{
    private static partial class Log
    {
        [LoggerMessage(6211, LogLevel.Information, "Watch of \"{Prefix}\" on {Endpoint} broke after revision {Revision}; reopening: {Reason}")]
        public static partial void WatchBroken(ILogger logger, string prefix, string endpoint, long revision, string reason);

        [LoggerMessage(6212, LogLevel.Debug, "Watch stream of \"{Prefix}\" ended after revision {Revision}; reopening")]
        public static partial void WatchEnded(ILogger logger, string prefix, long revision);
    }
}
