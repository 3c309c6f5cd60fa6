using Microsoft.Extensions.Logging;

namespace VirtualCluster.Membership.Etcd;

internal sealed partial class EtcdConnection
{
    private static partial class Log
    {
        [LoggerMessage(6201, LogLevel.Debug, "etcd call to {Endpoint} failed, trying the next member: {Reason}")]
        public static partial void CallFailed(ILogger logger, string endpoint, string reason);
    }
}
