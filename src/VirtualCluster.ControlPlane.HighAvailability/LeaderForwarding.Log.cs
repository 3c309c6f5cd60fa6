using Microsoft.Extensions.Logging;

namespace VirtualCluster.ControlPlane.HighAvailability;

public sealed partial class LeaderForwarding
{
    private static partial class Log
    {
        [LoggerMessage(6411, LogLevel.Warning, "Forwarding to the leader at {Leader} failed: {Reason}")]
        public static partial void ForwardFailed(ILogger logger, string leader, string reason);
    }
}
