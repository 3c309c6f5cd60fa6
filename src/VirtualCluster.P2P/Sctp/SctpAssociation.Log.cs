using Microsoft.Extensions.Logging;

namespace VirtualCluster.P2P.Sctp;

public sealed partial class SctpAssociation
{
    private static partial class Log
    {
        [LoggerMessage(5001, LogLevel.Debug, "SCTP: connecting (DTLS {IsDtlsClient})")]
        public static partial void ConnectingCore(ILogger logger, string isDtlsClient);

        public static void Connecting(ILogger logger, bool isDtlsClient) => ConnectingCore(logger, isDtlsClient ? "client" : "server");

        [LoggerMessage(5002, LogLevel.Information, "SCTP: association established (FORWARD-TSN {ForwardTsn}, RE-CONFIG {Reconfig})")]
        public static partial void Established(ILogger logger, bool forwardTsn, bool reconfig);

        [LoggerMessage(5003, LogLevel.Information, "SCTP: association shut down")]
        public static partial void ClosedCleanly(ILogger logger);

        [LoggerMessage(5004, LogLevel.Warning, "SCTP: association ended: {Reason}")]
        public static partial void ClosedWithReason(ILogger logger, string reason);

        [LoggerMessage(5005, LogLevel.Error, "SCTP: internal error; the packet or timer event was dropped")]
        public static partial void InternalError(ILogger logger, Exception exception);

        [LoggerMessage(5006, LogLevel.Warning, "SCTP: a {Event} handler threw; the association carries on")]
        public static partial void HandlerFailed(ILogger logger, string @event, Exception exception);

        [LoggerMessage(5007, LogLevel.Information, "SCTP: the peer reported an error: {Cause}")]
        public static partial void PeerError(ILogger logger, string cause);

        [LoggerMessage(5008, LogLevel.Trace, "SCTP: dropped a packet or chunk: {Reason}")]
        public static partial void Dropped(ILogger logger, string reason);

        [LoggerMessage(5009, LogLevel.Warning, "SCTP: ignored a DCEP message on stream {Stream}: {Reason}")]
        public static partial void BadDcep(ILogger logger, ushort stream, string reason);

        [LoggerMessage(5010, LogLevel.Debug, "SCTP: retransmission timeout #{Count}, RTO now {Rto}")]
        public static partial void RetransmissionTimeout(ILogger logger, int count, TimeSpan rto);

        [LoggerMessage(5012, LogLevel.Information, "SCTP: packet size {Size} bytes: {Why}")]
        public static partial void PathMtu(ILogger logger, int size, string why);

        [LoggerMessage(5011, LogLevel.Information, "SCTP: the peer answered a stream reset with result {Result}; the streams are closed locally")]
        public static partial void ResetRefused(ILogger logger, uint result);
    }
}
