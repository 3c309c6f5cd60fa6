using Microsoft.Extensions.Logging;

namespace VirtualCluster.P2P.PeerConnections;

public sealed partial class PeerConnection
{
    private static partial class Log
    {
        [LoggerMessage(3201, LogLevel.Information, "Peer connection {State}{Detail}")]
        public static partial void StateChanged(ILogger logger, PeerConnectionState state, string detail);

        [LoggerMessage(3202, LogLevel.Debug, "Peer connection: remote candidate skipped: {Candidate}")]
        public static partial void CandidateSkipped(ILogger logger, string candidate);

        [LoggerMessage(3203, LogLevel.Information, "Peer connection up in {Milliseconds} ms (ICE {Ice} ms, DTLS {Dtls} ms, SCTP {Sctp} ms) over {Pair}")]
        public static partial void Connected(ILogger logger, long milliseconds, long ice, long dtls, long sctp, string pair);
    }
}
