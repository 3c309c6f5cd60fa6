using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Security;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tls;

/// <summary>
/// Agents' client certificates on the control plane: issued at join and renewed in heartbeats (from the agent's own
/// key), and checked on every request that carries a machine token. A presented certificate must chain to the cluster
/// CA, carry clientAuth, be valid now and name the token's node at the token's credential generation (so a removed or
/// re-joined node's old certificate is useless). Without a certificate the token alone is accepted unless
/// <see cref="ControlPlaneOptions.RequireClientCertificate"/> is on.
/// Behind a follower the agent's TLS connection ends at the follower: it passes the certificate on in
/// <see cref="ForwardedCertificateHeader"/>, and the leader takes that header only from a connection that presents a
/// control plane's own certificate (a client setting the header itself is ignored).
/// </summary>
public sealed partial class AgentCertificates(ClusterTls tls, IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<AgentCertificates> logger)
{
    /// <summary>Header in which a follower passes the agent's client certificate (base64 DER) on to the leader.</summary>
    public const string ForwardedCertificateHeader = "X-VirtualCluster-Client-Certificate";

    private const int MaxForwarded = 16 * 1024;
    private const int MaxChained = 10_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ClientIdentity> _chained = new(StringComparer.Ordinal);

    /// <summary>What a follower puts in <see cref="ForwardedCertificateHeader"/>: the certificate this connection presented, or <c>none</c>.</summary>
    public static string ForwardedValue(HttpContext http) =>
        http.Connection.ClientCertificate is { } certificate ? Convert.ToBase64String(certificate.RawData) : NoCertificate;

    private const string NoCertificate = "none";

    /// <summary>
    /// Why a request with this machine token is refused for its client certificate; null when it may go on.
    /// </summary>
    public string? Problem(HttpContext http, TokenPrincipal principal)
    {
        var (certificate, forwarded) = Presented(http);
        using (forwarded ? certificate : null)
        {
            if (certificate is null)
            {
                return options.Value.RequireClientCertificate
                    ? $"node {principal.Subject}'s machine token came without the node's client certificate, and this control plane requires one (RequireClientCertificate): agents get one when they join, so join this machine again with a join token (`vcluster token create --join --uses 1`)"
                    : null;
            }
            var check = Check(certificate);
            if (check.Identity is not { } identity) return check.Problem;
            if (identity.IsControlPlane) return "a control plane's certificate cannot act for a node";
            if (identity.NodeId != principal.Subject)
                return $"the client certificate is node {identity.NodeId}'s but the machine token is node {principal.Subject}'s: a machine presents its own certificate with its own token";
            if (identity.Generation != principal.MachineGeneration)
                return $"the client certificate was issued to an earlier join of node {identity.NodeId} (its credential changed since: it joined again or was removed); the agent gets a new one when it joins";
            return null;
        }
    }

    /// <summary>Issues a node certificate for an agent's PEM request; the PEM certificate, or the problem with the request.</summary>
    public (string? Certificate, string? Problem) Issue(string? requestPem, string nodeId, string? generation)
    {
        if (!NodeCertificates.TryReadRequest(requestPem, out var publicKey, out var problem)) return (null, problem);
        using var certificate = tls.IssueNodeCertificate(publicKey, nodeId, generation, options.Value.ClientCertificateLifetime);
        LogIssued(logger, nodeId, certificate.SerialNumber, certificate.NotAfter.ToUniversalTime());
        return (certificate.ExportCertificatePem(), null);
    }

    /// <summary>Whether the request came with a client certificate (its own, or forwarded by a control plane).</summary>
    public bool HasCertificate(HttpContext http)
    {
        var (certificate, forwarded) = Presented(http);
        if (forwarded) certificate?.Dispose();
        return certificate is not null;
    }

    private (X509Certificate2? Certificate, bool Forwarded) Presented(HttpContext http)
    {
        var own = http.Connection.ClientCertificate;
        if (own is null || !http.Request.Headers.TryGetValue(ForwardedCertificateHeader, out var header)) return (own, false);
        if (Check(own).Identity is not { IsControlPlane: true }) return (own, false);
        var text = header.ToString();
        if (text is "" or NoCertificate) return (null, true);
        try
        {
            if (text.Length > MaxForwarded) throw new FormatException("too long");
            return (X509CertificateLoader.LoadCertificate(Convert.FromBase64String(text)), true);
        }
        catch (Exception e) when (e is FormatException or System.Security.Cryptography.CryptographicException)
        {
            LogBadForwarded(logger, e.Message);
            return (null, true);
        }
    }

    // A chain build costs more than the rest of a heartbeat's TLS work: each certificate's chain is checked once, its
    // validity times on every request (they are the only part of the outcome that changes while the CA stays).
    private ClientCertificateCheck Check(X509Certificate2 certificate)
    {
        var now = time.GetUtcNow();
        var key = TlsFingerprint.Of(certificate);
        if (now >= certificate.NotBefore.ToUniversalTime() && now <= certificate.NotAfter.ToUniversalTime() && _chained.TryGetValue(key, out var known))
            return new ClientCertificateCheck(known, null);
        var check = ClientCertificateValidator.Check(certificate, tls.Ca.Certificate, now);
        if (check.Identity is { } identity)
        {
            if (_chained.Count >= MaxChained) _chained.Clear();
            _chained[key] = identity;
        }
        return check;
    }

    [LoggerMessage(EventId = 7010, Level = LogLevel.Information, Message = "Issued node {NodeId} a client certificate (serial {Serial}, valid until {NotAfter:u})")]
    private static partial void LogIssued(ILogger logger, string nodeId, string serial, DateTime notAfter);

    [LoggerMessage(EventId = 7011, Level = LogLevel.Warning, Message = "A control plane forwarded an unreadable client certificate ({Problem}); the request is treated as having none")]
    private static partial void LogBadForwarded(ILogger logger, string problem);
}
