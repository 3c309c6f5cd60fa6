using Microsoft.Extensions.Logging;

namespace VirtualCluster.P2P.Dtls;

public sealed partial class DtlsTransport
{
    private static partial class Log
    {
        [LoggerMessage(3101, LogLevel.Debug, "DTLS {Role}: handshake started")]
        public static partial void HandshakeStarted(ILogger logger, DtlsRole role);

        [LoggerMessage(3102, LogLevel.Information, "DTLS {Role}: connected in {Milliseconds} ms, peer fingerprint checked")]
        public static partial void Connected(ILogger logger, DtlsRole role, long milliseconds);

        [LoggerMessage(3103, LogLevel.Warning, "DTLS {Role}: handshake failed: {Reason}")]
        public static partial void HandshakeFailed(ILogger logger, DtlsRole role, string reason);

        [LoggerMessage(3104, LogLevel.Information, "DTLS {Role}: closed: {Reason}")]
        public static partial void Closed(ILogger logger, DtlsRole role, string reason);
    }
}
