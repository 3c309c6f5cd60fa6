using System.CommandLine;
using System.Net;
using VirtualCluster.Gateway.Tls;

namespace VirtualCluster.Host.Console;

/// <summary>The gateway's HTTPS flags: ACME, a certificate of the user's, redirects.</summary>
internal sealed class GatewayTlsFlags
{
    public Option<string?> AcmeDirectory { get; } = new("--acme-directory")
    {
        Description = "ACME directory URL for automatic certificates (e.g. https://acme-v02.api.letsencrypt.org/directory); needs an https:// --listen URL.",
    };
    public Option<string?> AcmeServerFingerprint { get; } = new("--acme-server-fingerprint")
    {
        Description = "sha256:... of a certificate the ACME server presents, trusted besides the system store (a test CA such as Pebble).",
    };
    public Option<string?> AcmeEmail { get; } = new("--acme-email") { Description = "Contact address for the ACME account." };
    public Option<string> AcmeChallenge { get; } = new("--acme-challenge")
    {
        Description = "http-01 (a certificate per service, the CA fetches a token on port 80) or dns-01 (one *.<domain> wildcard through --dns-listen).",
        DefaultValueFactory = _ => "http-01",
    };
    public Option<string?> CertificatesDir { get; } = new("--certificates-dir") { Description = "Folder keeping the ACME account key and certificates across restarts." };
    public Option<string?> TlsCert { get; } = new("--tls-cert") { Description = "PEM certificate (chain) served for names without an ACME certificate." };
    public Option<string?> TlsKey { get; } = new("--tls-key") { Description = "PEM private key of --tls-cert (when not in the same file)." };
    public Option<bool> RedirectHttps { get; } = new("--redirect-https") { Description = "Redirect plain-HTTP requests for services to https (308)." };
    public Option<bool> Hsts { get; } = new("--hsts") { Description = "Send Strict-Transport-Security (180 days) on HTTPS responses." };

    public GatewayTlsFlags() => AcmeChallenge.AcceptOnlyFromAmong("http-01", "dns-01");

    public IEnumerable<Option> All => [AcmeDirectory, AcmeServerFingerprint, AcmeEmail, AcmeChallenge, CertificatesDir, TlsCert, TlsKey, RedirectHttps, Hsts];

    /// <summary>The TLS settings, or null when no https URL is served; problems go to <paramref name="errors"/>.</summary>
    public Action<GatewayTlsOptions>? Read(ParseResult parse, IReadOnlyList<IPEndPoint> https, bool dns, List<string> errors)
    {
        var directory = parse.GetValue(AcmeDirectory);
        var cert = parse.GetValue(TlsCert);
        if (https.Count == 0)
        {
            if (directory is not null || cert is not null || parse.GetValue(RedirectHttps))
                errors.Add("--acme-directory, --tls-cert and --redirect-https need an https URL in --listen, e.g. --listen http://0.0.0.0:80,https://0.0.0.0:443");
            return null;
        }
        if (directory is null && cert is null)
            errors.Add("an https --listen URL needs a certificate: give --acme-directory (automatic) or --tls-cert/--tls-key (your own)");
        var challenge = parse.GetValue(AcmeChallenge)!;
        if (directory is not null && challenge == "dns-01" && !dns) errors.Add("--acme-challenge dns-01 answers through the gateway's DNS responder: give --dns-listen");
        return o =>
        {
            o.AcmeDirectory = directory;
            o.AcmeServerFingerprint = parse.GetValue(AcmeServerFingerprint);
            o.AcmeEmail = parse.GetValue(AcmeEmail);
            o.AcmeChallenge = challenge;
            o.CertificateDirectory = parse.GetValue(CertificatesDir);
            o.CertificatePath = cert;
            o.KeyPath = parse.GetValue(TlsKey);
            o.RedirectHttp = parse.GetValue(RedirectHttps);
            o.HttpsPort = https[0].Port;
            if (parse.GetValue(Hsts)) o.HstsMaxAge = TimeSpan.FromDays(180);
        };
    }

    /// <summary>The address of a listen URL: an IP literal, localhost (loopback) or * / + (any).</summary>
    public static IPEndPoint? EndPointOf(Uri uri) =>
        uri.Host is "*" or "+" ? new IPEndPoint(IPAddress.Any, uri.Port)
        : uri.IsLoopback && !IPAddress.TryParse(uri.Host.Trim('[', ']'), out _) ? new IPEndPoint(IPAddress.Loopback, uri.Port)
        : IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) ? new IPEndPoint(ip, uri.Port) : null;
}
