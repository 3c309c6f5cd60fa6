using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.Dns;

public sealed partial class DnsServer
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "DNS: answering for {Zone} on udp {EndPoint}")]
    private partial void LogListening(IPEndPoint endPoint, string zone);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Debug, Message = "DNS: dropped a packet from {Source}: {Problem}")]
    private partial void LogDropped(IPEndPoint source, string problem);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Debug, Message = "DNS: refused a query from {Source}: {Problem}")]
    private partial void LogRefused(IPEndPoint source, string problem);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Warning, Message = "DNS: receive failed ({Error}): {Message}")]
    private partial void LogReceiveFailed(SocketError error, string message);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Debug, Message = "DNS: could not send an answer to {Source} ({Error})")]
    private partial void LogSendFailed(IPEndPoint source, SocketError error);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Error, Message = "DNS: answering a query from {Source} failed")]
    private partial void LogAnswerFailed(IPEndPoint source, Exception exception);
}
