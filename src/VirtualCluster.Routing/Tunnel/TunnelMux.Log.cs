using Microsoft.Extensions.Logging;

namespace VirtualCluster.Routing.Tunnel;

public sealed partial class TunnelMux
{
    [LoggerMessage(5001, LogLevel.Warning, "Tunnel closed: the peer broke the protocol ({Error})")]
    private static partial void LogProtocolError(ILogger logger, string error);

    [LoggerMessage(5002, LogLevel.Warning, "Tunnel closed: more than {Max} control frames waited to be written (the peer stopped reading)")]
    private static partial void LogPeerNotReading(ILogger logger, int max);

    [LoggerMessage(5003, LogLevel.Warning, "Tunnel closed: nothing arrived for {Seconds} s")]
    private static partial void LogIdle(ILogger logger, double seconds);

    [LoggerMessage(5004, LogLevel.Information, "Refused a tunnel stream to port {Port}: {Reason}")]
    private static partial void LogRefused(ILogger logger, int port, string reason);

    [LoggerMessage(5005, LogLevel.Error, "A tunnel loop failed unexpectedly")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(5006, LogLevel.Debug, "Closing the tunnel's transport threw: {Reason}")]
    private static partial void LogTransportDisposeFailed(ILogger logger, string reason);
}
