using Microsoft.Extensions.Logging;

namespace VirtualCluster.Routing.PeerLinks;

internal sealed partial class PeerLink
{
    [LoggerMessage(5321, LogLevel.Information, "Peer link to {Node} is up ({Path}, RTT {RttMs:0.##} ms)")]
    private static partial void LogConnected(ILogger logger, string node, string path, double rttMs);

    [LoggerMessage(5322, LogLevel.Information, "Peer link to {Node} failed: {Reason}; next attempt in {BackoffMs:0} ms (the tunnel carries traffic meanwhile)")]
    private static partial void LogFailed(ILogger logger, string node, string reason, double backoffMs);

    [LoggerMessage(5323, LogLevel.Information, "Peer link to {Node} upgraded from relayed to direct")]
    private static partial void LogUpgraded(ILogger logger, string node);

    [LoggerMessage(5324, LogLevel.Debug, "Peer link to {Node}: trying a direct path failed: {Reason}")]
    private static partial void LogUpgradeFailed(ILogger logger, string node, string reason);

    [LoggerMessage(5325, LogLevel.Warning, "Peer link to {Node}: unusable answer: {Reason}")]
    private static partial void LogBadAnswer(ILogger logger, string node, string reason);
}
