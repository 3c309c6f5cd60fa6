using VirtualCluster.Api;

namespace VirtualCluster.Gateway.AgentTls;

/// <summary>
/// Gets the gateway's agent-facing certificate signed by the cluster CA. A standalone gateway asks the control plane
/// (<c>POST /v1/tls/gateway-certificate</c> with its admin token); a gateway inside the control plane's process can
/// sign with the CA it holds.
/// </summary>
public interface IGatewayCertificateIssuer
{
    /// <summary>Signs <see cref="GatewayCertificateRequest.CertificateRequest"/>; the answer carries the certificate and the CA (PEM).</summary>
    /// <exception cref="GatewayCertificateException">The certificate cannot be had now (the message says why and what to do).</exception>
    Task<GatewayCertificateResponse> IssueAsync(GatewayCertificateRequest request, CancellationToken cancellationToken = default);
}

/// <summary>The gateway's agent-facing certificate cannot be had now; the message says why.</summary>
public sealed class GatewayCertificateException(string message, Exception? inner = null) : Exception(message, inner);
