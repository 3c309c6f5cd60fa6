using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.Gateway.AgentTls;

/// <summary>
/// The certificate a gateway serves its agent-facing endpoints (tunnel, signaling) with: its own P-256 key (kept in
/// memory only, made anew at each renewal), signed by the cluster CA through <see cref="IGatewayCertificateIssuer"/>
/// at start and again once two thirds of its life are over, without a restart. Until the first one arrives (the control
/// plane is away) TLS handshakes fail and agents retry; plain http for browsers is served all along.
/// </summary>
public sealed partial class AgentTlsCertificate(IGatewayCertificateIssuer issuer, IOptions<GatewayOptions> options, ILogger<AgentTlsCertificate> logger,
    TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan MinRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);
    private volatile SslStreamCertificateContext? _context;
    private volatile X509Certificate2? _ca;

    /// <summary>What TLS handshakes serve; null until the first certificate arrived.</summary>
    public SslStreamCertificateContext? Context => _context;

    /// <summary>The cluster CA, as the control plane answered it with the certificate; null before.</summary>
    public X509Certificate2? Ca => _ca;

    /// <summary>Certificates received by this process (the first and each renewal).</summary>
    public int Issued { get; private set; }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retry = MinRetry;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = await RenewAsync(stoppingToken).ConfigureAwait(false);
                retry = MinRetry;
            }
            catch (GatewayCertificateException e)
            {
                LogFailed(logger, e.Message, retry.TotalSeconds);
                wait = retry;
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetry.Ticks));
            }
            try { await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Gets a certificate now; answers how long until the next renewal.</summary>
    private async Task<TimeSpan> RenewAsync(CancellationToken ct)
    {
        var name = options.Value.Name;
        var (key, csr) = NodeCertificates.CreateRequest("gateway-" + name);
        using (key)
        {
            var answer = await issuer.IssueAsync(new GatewayCertificateRequest(name, csr), ct).ConfigureAwait(false);
            X509Certificate2 leaf;
            X509Certificate2 ca;
            try
            {
                leaf = NodeCertificates.WithKey(answer.Certificate, key);
                ca = X509Certificate2.CreateFromPem(answer.Ca);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                throw new GatewayCertificateException($"the control plane answered a certificate this gateway cannot use: {e.Message}", e);
            }
            // The CA goes along for building the chain offline; a self-signed root is not sent in the handshake (agents
            // hold it already: they pin it by fingerprint).
            _context = SslStreamCertificateContext.Create(leaf, [ca], offline: true);
            _ca = ca;
            Issued++;
            var notBefore = new DateTimeOffset(leaf.NotBefore.ToUniversalTime());
            var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
            var renewAt = notBefore + (notAfter - notBefore) * 2 / 3;
            LogIssued(logger, TlsFingerprint.Of(ca), notAfter.UtcDateTime, renewAt.UtcDateTime);
            var wait = renewAt - time.GetUtcNow();
            return wait < MinRetry ? MinRetry : wait;
        }
    }

    [LoggerMessage(6201, LogLevel.Information, "Agent-facing TLS: certificate of the cluster CA {Ca} valid until {NotAfter:u}; renewing from {RenewAt:u}")]
    private static partial void LogIssued(ILogger logger, string ca, DateTime notAfter, DateTime renewAt);

    [LoggerMessage(6202, LogLevel.Warning, "Agent-facing TLS: no certificate from the cluster CA yet ({Reason}); agents cannot connect over TLS until then; retrying in {Seconds} s")]
    private static partial void LogFailed(ILogger logger, string reason, double seconds);
}
