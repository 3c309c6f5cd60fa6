using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.ControlPlane.Tls;

/// <summary>
/// Logs and counts connections refused at the TLS layer: plain HTTP on the TLS port, TLS on a plain port, failed
/// handshakes (a client that does not trust the cluster CA, a scanner). Kestrel itself logs these only at Debug; at
/// most one line per kind per second is written here, with the number left out since, so a flood cannot fill the log.
/// </summary>
internal sealed partial class TlsConnectionLog(ILogger logger, TimeProvider time, Meter meter)
{
    private readonly Counter<long> _refused = meter.CreateCounter<long>("vcluster.controlplane.tls.refused", "{connection}",
        "Connections refused at the TLS layer, by reason.");
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (long Last, int Suppressed)> _recent = [];

    public void PlainHttpOnTlsPort(string? remote) => Refuse("plain-http-on-tls-port", remote, (r, n) => LogPlainOnTls(logger, r, n));

    public void TlsOnPlainPort(string? remote) => Refuse("tls-on-plain-port", remote, (r, n) => LogTlsOnPlain(logger, r, n));

    public void HandshakeFailed(string? remote) => Refuse("handshake-failed", remote, (r, n) => LogHandshakeFailed(logger, r, n));

    private void Refuse(string reason, string? remote, Action<string, int> log)
    {
        _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        int suppressed;
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (_recent.TryGetValue(reason, out var last) && time.GetElapsedTime(last.Last, now) < TimeSpan.FromSeconds(1))
            {
                _recent[reason] = (last.Last, last.Suppressed + 1);
                return;
            }
            suppressed = last.Suppressed;
            _recent[reason] = (now, 0);
        }
        log(remote ?? "unknown", suppressed);
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning,
        Message = "Refused a connection from {Remote}: it spoke plain HTTP to the TLS port (use https:// URLs; {Suppressed} more since the last line)")]
    private static partial void LogPlainOnTls(ILogger logger, string remote, int suppressed);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning,
        Message = "Refused a connection from {Remote}: it spoke TLS to this plain HTTP port (use http:// URLs, or serve the API with --listen https://...; {Suppressed} more since the last line)")]
    private static partial void LogTlsOnPlain(ILogger logger, string remote, int suppressed);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning,
        Message = "Refused a connection from {Remote}: the TLS handshake failed (a client that does not trust the cluster CA, see ca.crt; {Suppressed} more since the last line)")]
    private static partial void LogHandshakeFailed(ILogger logger, string remote, int suppressed);
}
