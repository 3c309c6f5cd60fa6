using System.Net;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.P2P.Ice;

public sealed partial class IceAgent
{
    private static partial class Log
    {
        [LoggerMessage(3001, LogLevel.Information, "ICE state {State}")]
        public static partial void StateChanged(ILogger logger, IceConnectionState state);

        [LoggerMessage(3002, LogLevel.Warning, "ICE: cannot bind {Address}: {Reason}")]
        public static partial void BindFailed(ILogger logger, IPAddress address, string reason);

        [LoggerMessage(3003, LogLevel.Warning, "ICE: server {Server} gave no candidate: {Reason}")]
        public static partial void ServerFailed(ILogger logger, string server, string reason);

        [LoggerMessage(3004, LogLevel.Debug, "ICE: gathering done, {Count} local candidate(s)")]
        public static partial void GatheringDone(ILogger logger, int count);

        [LoggerMessage(3005, LogLevel.Warning, "ICE: checklist is full ({Max} pairs); new pairs are ignored")]
        public static partial void TooManyPairs(ILogger logger, int max);

        [LoggerMessage(3006, LogLevel.Debug, "ICE: pair succeeded: {Pair}")]
        public static partial void PairSucceeded(ILogger logger, string pair);

        [LoggerMessage(3007, LogLevel.Debug, "ICE: pair failed: {Pair}: {Reason}")]
        public static partial void PairFailed(ILogger logger, string pair, string reason);

        [LoggerMessage(3008, LogLevel.Information, "ICE: role conflict, switching from {From} to {To}")]
        public static partial void RoleSwitched(ILogger logger, IceRole from, IceRole to);

        [LoggerMessage(3009, LogLevel.Debug, "ICE: learned local peer-reflexive candidate {EndPoint}")]
        public static partial void LocalPeerReflexive(ILogger logger, IPEndPoint endPoint);

        [LoggerMessage(3010, LogLevel.Debug, "ICE: learned remote peer-reflexive candidate {EndPoint}")]
        public static partial void RemotePeerReflexive(ILogger logger, IPEndPoint endPoint);

        [LoggerMessage(3011, LogLevel.Debug, "ICE: nominating {Pair}")]
        public static partial void Nominating(ILogger logger, string pair);

        [LoggerMessage(3012, LogLevel.Information, "ICE: selected {Pair}")]
        public static partial void Selected(ILogger logger, string pair);

        [LoggerMessage(3013, LogLevel.Warning, "ICE: consent expired on {Pair}; no more data is sent")]
        public static partial void ConsentExpired(ILogger logger, string pair);

        [LoggerMessage(3015, LogLevel.Information, "ICE: TURN server {Server} still holds an allocation for this socket's 5-tuple (437); allocating from a new socket")]
        public static partial void AllocationMismatch(ILogger logger, string server);

        [LoggerMessage(3014, LogLevel.Debug, "ICE: ChannelBind to {Peer} failed: {Reason}")]
        public static partial void ChannelBindFailed(ILogger logger, IPEndPoint peer, string reason);

        // the pair is formatted only when Trace is on
        [LoggerMessage(3016, LogLevel.Trace, "ICE: check sent on {Pair} (use-candidate {UseCandidate})")]
        public static partial void CheckSent(ILogger logger, IceCandidatePair pair, bool useCandidate);

        [LoggerMessage(3017, LogLevel.Trace, "ICE: check received on {Pair}")]
        public static partial void CheckReceived(ILogger logger, IceCandidatePair pair);

        [LoggerMessage(3018, LogLevel.Debug, "ICE: checking {Pair} again: a pair to the same relayed candidate succeeded, so the peer's TURN permissions are likely in place")]
        public static partial void Rechecking(ILogger logger, string pair);
    }
}
