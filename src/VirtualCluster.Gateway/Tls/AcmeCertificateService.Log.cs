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

    [LoggerMessage(EventId = 6407, Level = LogLevel.Information, Message = "ACME: certificate for {Name} taken from the cluster store (obtained by a gateway), valid until {NotAfter:u}")]
    private partial void LogFromStore(string name, DateTime notAfter);

    [LoggerMessage(EventId = 6408, Level = LogLevel.Debug, Message = "ACME: {Name} is being ordered by another gateway; waiting for it in the cluster store")]
    private partial void LogOrderedElsewhere(string name);

    [LoggerMessage(EventId = 6409, Level = LogLevel.Warning, Message = "ACME: the cluster store cannot be reached ({Reason}); ordering alone and serving the local copies until it can")]
    private partial void LogStoreFailing(string reason);

    [LoggerMessage(EventId = 6410, Level = LogLevel.Information, Message = "ACME: the cluster store is reachable again")]
    private partial void LogStoreBack();

    [LoggerMessage(EventId = 6405, Level = LogLevel.Error, Message = "ACME: checking certificates failed")]
    private partial void LogCheckFailed(Exception exception);
}
