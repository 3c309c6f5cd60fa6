using Microsoft.Extensions.Logging;

namespace VirtualCluster.Gateway.Tls;

internal sealed partial class AcmeCertificateService
{
    [LoggerMessage(EventId = 6401, Level = LogLevel.Information, Message = "ACME: account {Account}")]
    private partial void LogRegistered(string account);

    [LoggerMessage(EventId = 6402, Level = LogLevel.Information, Message = "ACME: ordering a certificate for {Name} ({Challenge})")]
    private partial void LogOrdering(string name, string challenge);

    [LoggerMessage(EventId = 6403, Level = LogLevel.Information, Message = "ACME: certificate for {Name} issued, valid until {NotAfter:u}, by {Issuer}")]
    private partial void LogIssued(string name, DateTime notAfter, string issuer);

    [LoggerMessage(EventId = 6404, Level = LogLevel.Warning, Message = "ACME: no certificate for {Name} yet, next try in {Backoff}: {Reason}")]
    private partial void LogOrderFailed(string name, TimeSpan backoff, string reason);

    [LoggerMessage(EventId = 6406, Level = LogLevel.Warning, Message = "ACME: the stored certificate for {Name} cannot be read ({Reason}); ordering a new one")]
    private partial void LogStoredUnreadable(string name, string reason);

    [LoggerMessage(EventId = 6405, Level = LogLevel.Error, Message = "ACME: checking certificates failed")]
    private partial void LogCheckFailed(Exception exception);
}
