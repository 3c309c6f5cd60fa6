using Microsoft.Extensions.Logging;

namespace VirtualCluster.ControlPlane.HighAvailability;

public sealed partial class ControlPlaneLeadership
{
    private static partial class Log
    {
        [LoggerMessage(6401, LogLevel.Information, "Control plane {Self} campaigns for leadership of \"{Election}\"")]
        public static partial void Campaigning(ILogger logger, string self, string election);

        [LoggerMessage(6402, LogLevel.Warning, "Control plane {Self} is the leader now (token {Token}); starting {Services}")]
        public static partial void Elected(ILogger logger, string self, long token, string services);

        [LoggerMessage(6403, LogLevel.Warning, "Control plane {Self} lost its leadership (token {Token}); campaigning again")]
        public static partial void LeadershipLost(ILogger logger, string self, long token);

        [LoggerMessage(6404, LogLevel.Information, "Control plane {Self} resigned its leadership")]
        public static partial void Resigned(ILogger logger, string self);

        [LoggerMessage(6405, LogLevel.Warning, "Campaigning failed, retrying: {Reason}")]
        public static partial void CampaignFailed(ILogger logger, string reason);

        [LoggerMessage(6406, LogLevel.Information, "Leader is {Leader} (token {Token})")]
        public static partial void LeaderObserved(ILogger logger, string leader, long token);

        [LoggerMessage(6407, LogLevel.Warning, "Following the leader failed, retrying: {Reason}")]
        public static partial void ObserveFailed(ILogger logger, string reason);

        [LoggerMessage(6408, LogLevel.Warning, "Registering this control plane as a member failed, retrying: {Reason}")]
        public static partial void MembershipFailed(ILogger logger, string reason);
    }
}
