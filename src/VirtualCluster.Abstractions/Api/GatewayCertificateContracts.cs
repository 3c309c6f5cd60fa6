namespace VirtualCluster.Api;

/// <summary>A gateway asks the cluster CA for the certificate it serves agents' tunnels and signaling with (POST /v1/tls/gateway-certificate, admin).</summary>
/// <param name="Name">The gateway's name; the certificate names it in the URI SAN <c>vcluster://gateway/&lt;name&gt;</c>.</param>
/// <param name="CertificateRequest">A PEM PKCS#10 request for the gateway's own ECDSA P-256 key (which never leaves the gateway).</param>
public sealed record GatewayCertificateRequest(string Name, string CertificateRequest);

/// <summary>The issued certificate and the CA that signed it (both PEM).</summary>
public sealed record GatewayCertificateResponse(string Certificate, string Ca);
