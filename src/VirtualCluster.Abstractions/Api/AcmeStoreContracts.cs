namespace VirtualCluster.Api;

/// <summary>A custom domain of a service as <c>GET /v1/services</c> shows it.</summary>
/// <param name="Name">The domain, e.g. <c>app.example.com</c>.</param>
/// <param name="Verified">True when a gateway last found that the name resolves to it (only then is a certificate ordered).</param>
/// <param name="CheckedAt">When a gateway last checked it; null when none has yet.</param>
/// <param name="Problem">Why it is not verified (what the lookup answered), or null.</param>
/// <param name="CertificateNotAfter">Expiry of the certificate the gateways serve for it, or null when there is none yet.</param>
/// <param name="Url">The domain's stable URL, <c>https://&lt;domain&gt;/</c>, once it has a certificate; otherwise null.</param>
public sealed record DomainView(string Name, bool Verified, DateTimeOffset? CheckedAt = null, string? Problem = null,
    DateTimeOffset? CertificateNotAfter = null, string? Url = null);

/// <summary>One gateway's DNS check of custom domains (<c>POST /v1/gateway-store/domains</c>).</summary>
/// <param name="Gateway">The reporting gateway's name.</param>
/// <param name="Results">One entry per domain checked.</param>
public sealed record DomainReport(string Gateway, IReadOnlyList<DomainCheck> Results);

/// <summary>The outcome of resolving one domain.</summary>
/// <param name="Domain">The domain.</param>
/// <param name="Verified">True when it resolved to one of the gateway's addresses.</param>
/// <param name="Problem">What the lookup answered when not verified, e.g. "resolves to 192.0.2.7, not to this gateway".</param>
public sealed record DomainCheck(string Domain, bool Verified, string? Problem = null);

/// <summary>
/// A certificate the gateways share through the cluster store (<c>GET/PUT /v1/gateway-store/certificates/{name}</c>).
/// The private key is sealed with the cluster's secrets key at rest and only answered to gateways (admin tokens).
/// </summary>
/// <param name="Name">The name it is served for (<c>*.domain</c> for a wildcard).</param>
/// <param name="ChainPem">Leaf first, then intermediates.</param>
/// <param name="PrivateKeyPem">The leaf's private key (PKCS#8 PEM).</param>
/// <param name="NotAfter">The leaf's expiry (filled in by the control plane).</param>
public sealed record StoredCertificate(string Name, string ChainPem, string PrivateKeyPem, DateTimeOffset? NotAfter = null);

/// <summary>Asks for (or gives back) the right to order a certificate for a name (<c>POST /v1/gateway-store/leases/{name}</c>).</summary>
/// <param name="Holder">The gateway's name.</param>
/// <param name="Seconds">How long the lease lasts (10-900); 0 releases it when <paramref name="Holder"/> holds it.</param>
public sealed record OrderLeaseRequest(string Holder, int Seconds);

/// <summary>The answer to an <see cref="OrderLeaseRequest"/>.</summary>
/// <param name="Granted">True when the caller holds the lease now (or released it).</param>
/// <param name="Holder">Who holds it, when someone does.</param>
/// <param name="Until">Until when.</param>
public sealed record OrderLease(bool Granted, string? Holder, DateTimeOffset? Until);

/// <summary>The ACME account key the gateways share (<c>POST /v1/gateway-store/account</c>: stores the key given unless one is stored, answers the stored one).</summary>
/// <param name="PrivateKeyPem">The account's private key (PEM).</param>
public sealed record StoredAccountKey(string PrivateKeyPem);
