using Microsoft.Extensions.Logging;

namespace VirtualCluster.Agent.Fencing;

internal sealed partial class FenceWatchdog
{
    [LoggerMessage(2201, LogLevel.Information, "Fencing watchdog started (pid {Pid})")]
    private static partial void LogStarted(ILogger logger, int pid);

    [LoggerMessage(2202, LogLevel.Warning, "Fencing watchdog is not available ({Reason}); singletons are fenced only while the agent itself runs")]
    private static partial void LogUnavailable(ILogger logger, string reason);

    [LoggerMessage(2203, LogLevel.Warning, "Fencing watchdog: {Line}")]
    private static partial void LogWatchdogSaid(ILogger logger, string line);

    [LoggerMessage(2204, LogLevel.Error, "Fencing watchdog error: {Line}")]
    private static partial void LogWatchdogError(ILogger logger, string line);

    [LoggerMessage(2205, LogLevel.Warning, "Fencing watchdog exited; starting it again")]
    private static partial void LogExited(ILogger logger);

    [LoggerMessage(2206, LogLevel.Warning, "Cannot talk to the fencing watchdog: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string reason);

    [LoggerMessage(2207, LogLevel.Information, "Stopped the fencing watchdog of an earlier agent run (pid {Pid}); this run's watchdog guards its instances now")]
    private static partial void LogRetired(ILogger logger, int pid);
}
