using Microsoft.Extensions.Logging;

namespace VirtualCluster.Gateway.Access;

public sealed partial class ServiceAccessChecker
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, Level = LogLevel.Debug, Message = "Access to {Service} refused ({Status}): {Reason}")]
        public static partial void Refused(ILogger logger, string service, int status, string reason);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Debug, Message = "Service token for {Service} exchanged for a cookie")]
        public static partial void Exchanged(ILogger logger, string service);
    }
}
