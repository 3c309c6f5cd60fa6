using Microsoft.Extensions.Logging;

namespace VirtualCluster.ControlPlane.Keys;

public sealed partial class TokenKeyManager
{
    private static partial class Log
    {
        [LoggerMessage(1504, LogLevel.Information, "Signing tokens with key {KeyId} ({Count} key(s) published){Legacy}")]
        public static partial void Started(ILogger logger, string keyId, int count, string legacy);

        [LoggerMessage(1505, LogLevel.Information, "Published token signing key {KeyId}")]
        public static partial void Published(ILogger logger, string keyId);

        [LoggerMessage(1506, LogLevel.Information, "Rotated the token signing key: {Old} -> {New}; tokens signed by {Old} are accepted until {RetireAfter:u}")]
        public static partial void Rotated(ILogger logger, string old, string @new, DateTimeOffset retireAfter);

        [LoggerMessage(1507, LogLevel.Information, "Rotating this control plane's token signing key: {Reason}")]
        public static partial void Rotating(ILogger logger, string reason);

        [LoggerMessage(1508, LogLevel.Warning, "Left out a published token key: {Problem}")]
        public static partial void BadPublishedKey(ILogger logger, string problem);

        [LoggerMessage(1510, LogLevel.Warning, "Retired token key {KeyId} at once (no grace): every token it signed is refused from now on")]
        public static partial void Retired(ILogger logger, string keyId);
    }
}
