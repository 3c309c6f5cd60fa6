using Microsoft.Extensions.Options;

namespace VirtualCluster.Gateway.Tls;

/// <summary>HTTPS at the gateway: certificates from an ACME CA and/or a certificate of the user's, HTTP to HTTPS redirects.</summary>
public sealed class GatewayTlsOptions
{
    /// <summary>
    /// ACME directory URL (RFC 8555), e.g. https://acme-v02.api.letsencrypt.org/directory. Default none: no automatic
    /// certificates; only <see cref="CertificatePath"/> is served.
    /// </summary>
    public string? AcmeDirectory { get; set; }

    /// <summary>Fingerprint (sha256:...) of a certificate the ACME server presents that is trusted besides the system store (a test CA such as Pebble). Default none.</summary>
    public string? AcmeServerFingerprint { get; set; }

    /// <summary>Contact address for the ACME account. Default none.</summary>
    public string? AcmeEmail { get; set; }

    /// <summary>
    /// How names are proven: <c>http-01</c> (the CA fetches a token from this gateway on port 80; one certificate per
    /// service) or <c>dns-01</c> (a TXT record on the gateway's own DNS responder; one wildcard certificate for
    /// <c>*.&lt;domain&gt;</c>, so new services need no new order). Default http-01.
    /// </summary>
    public string AcmeChallenge { get; set; } = "http-01";

    /// <summary>Folder for the ACME account key and issued certificates, so a restart reuses them. Default none (memory only).</summary>
    public string? CertificateDirectory { get; set; }

    /// <summary>
    /// Renew when less than this is left, or less than a third of the lifetime (whichever comes first; short-lived
    /// certificates need the latter). Default 30 days, as Let's Encrypt advises for 90-day certificates.
    /// </summary>
    public TimeSpan RenewBefore { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the certificates are checked against the services and their expiry. Default 10 s.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>PEM certificate (chain) served for names ACME has no certificate for. Default none.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key of <see cref="CertificatePath"/>. Default none (the key is in the same file).</summary>
    public string? KeyPath { get; set; }

    /// <summary>Answer plain-HTTP requests for services with 308 to https (ACME HTTP-01 tokens stay on http). Default false.</summary>
    public bool RedirectHttp { get; set; }

    /// <summary>The port in redirect URLs (the public HTTPS port). Default 443.</summary>
    public int HttpsPort { get; set; } = 443;

    /// <summary>Strict-Transport-Security max-age sent on HTTPS responses; zero sends none. Default zero.</summary>
    public TimeSpan HstsMaxAge { get; set; }
}

/// <summary>Checks <see cref="GatewayTlsOptions"/>; every problem names the option and the fix.</summary>
internal sealed class GatewayTlsOptionsValidator : IValidateOptions<GatewayTlsOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayTlsOptions o)
    {
        var errors = new List<string>();
        if (o.AcmeDirectory is not null && (!Uri.TryCreate(o.AcmeDirectory, UriKind.Absolute, out var uri) || uri.Scheme != "https"))
            errors.Add($"AcmeDirectory \"{o.AcmeDirectory}\" is not an https URL like https://acme-v02.api.letsencrypt.org/directory");
        if (o.AcmeServerFingerprint is not null && !Security.Tls.TlsFingerprint.TryParse(o.AcmeServerFingerprint, out _, out var problem))
            errors.Add($"AcmeServerFingerprint: {problem}");
        if (o.AcmeChallenge is not ("http-01" or "dns-01")) errors.Add($"AcmeChallenge \"{o.AcmeChallenge}\" must be http-01 or dns-01");
        if (o.AcmeEmail is { } email && (email.Length > 254 || !email.Contains('@') || email.Any(c => c is ' ' or '<' or '>' or ',')))
            errors.Add($"AcmeEmail \"{email}\" is not an address like ops@example.com");
        if (o.RenewBefore <= TimeSpan.Zero) errors.Add("RenewBefore must be positive (default 30 days)");
        if (o.CheckInterval < TimeSpan.FromMilliseconds(100) || o.CheckInterval > TimeSpan.FromDays(1)) errors.Add($"CheckInterval {o.CheckInterval} must be between 100 ms and 1 day");
        if (o.CertificatePath is { } cert && !File.Exists(cert)) errors.Add($"CertificatePath {cert} does not exist (a PEM certificate or chain)");
        if (o.KeyPath is { } key && !File.Exists(key)) errors.Add($"KeyPath {key} does not exist (the PEM private key of CertificatePath)");
        if (o.KeyPath is not null && o.CertificatePath is null) errors.Add("KeyPath is given without CertificatePath");
        if (o.HttpsPort is < 1 or > 65535) errors.Add($"HttpsPort {o.HttpsPort} is not a port (1-65535)");
        if (o.HstsMaxAge < TimeSpan.Zero) errors.Add("HstsMaxAge must not be negative");
        return errors.Count > 0 ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}
