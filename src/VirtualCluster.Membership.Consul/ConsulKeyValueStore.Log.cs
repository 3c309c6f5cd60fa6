using Microsoft.Extensions.Logging;

namespace VirtualCluster.Membership.Consul;

public sealed partial class ConsulKeyValueStore
{
    private static partial class Log
    {
        [LoggerMessage(6301, LogLevel.Debug, "A key changed between reading and writing it; trying the transaction again: {Reason}")]
        public static partial void GuardConflict(ILogger logger, string reason);

        [LoggerMessage(6302, LogLevel.Information, "Watch of \"{Prefix}\" could not read Consul, retrying: {Reason}")]
        public static partial void WatchRoundFailed(ILogger logger, string prefix, string reason);

        [LoggerMessage(6303, LogLevel.Warning, "Trimming the change journal failed: {Reason}")]
        public static partial void TrimFailed(ILogger logger, string reason);
    }
}
