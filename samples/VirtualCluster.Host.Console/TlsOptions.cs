using System.CommandLine;
using VirtualCluster.ControlPlane;

namespace VirtualCluster.Host.Console;

/// <summary>
/// The control plane's TLS flags: a user-supplied CA (`--tls-ca-cert`, `--tls-ca-key`), extra certificate names, and
/// agents' client certificates (`--require-client-cert`, `--client-cert-lifetime`).
/// </summary>
internal sealed class TlsOptions
{
    public Option<string?> CaCertificate { get; } = new("--tls-ca-cert")
    {
        Description = "PEM file of a CA to sign the API's certificate with, instead of the CA the cluster makes on first start (with --tls-ca-key).",
    };

    public Option<string?> CaKey { get; } = new("--tls-ca-key") { Description = "PEM file with the ECDSA private key of --tls-ca-cert." };

    public Option<string[]> Names { get; } = new("--tls-name")
    {
        Description = "Extra host name or address for the API's certificate (repeatable); the --listen and --advertise-url hosts, localhost and every local address are always in it.",
    };

    public Option<bool> RequireClientCertificate { get; } = new("--require-client-cert")
    {
        Description = "Refuse an agent's machine token that comes without its node's client certificate (agents get one when they join; "
            + "without this flag agents that joined before client certificates existed keep working with their token alone).",
    };

    public Option<double> ClientCertificateLifetime { get; } = new("--client-cert-lifetime")
    {
        Description = "Seconds an agent's client certificate is valid (agents renew it after two thirds). Default 7 days.",
        DefaultValueFactory = _ => 7 * 86400,
    };

    public IEnumerable<Option> All => [CaCertificate, CaKey, Names, RequireClientCertificate, ClientCertificateLifetime];

    /// <summary>The settings, or null after printing what is wrong.</summary>
    public Action<ControlPlaneOptions>? Read(ParseResult parse, IEnumerable<Uri> urls)
    {
        var cert = parse.GetValue(CaCertificate);
        var key = parse.GetValue(CaKey);
        if ((cert is null) != (key is null))
        {
            System.Console.Error.WriteLine("error: --tls-ca-cert and --tls-ca-key go together: give both (a CA certificate and its private key, PEM) or neither");
            return null;
        }
        foreach (var file in new[] { cert, key }.OfType<string>())
        {
            if (!File.Exists(file))
            {
                System.Console.Error.WriteLine($"error: {file} does not exist (named by --tls-ca-cert/--tls-ca-key)");
                return null;
            }
        }
        var clientLifetime = parse.GetValue(ClientCertificateLifetime);
        if (clientLifetime is < 10 or > 397 * 86400)
        {
            System.Console.Error.WriteLine($"error: --client-cert-lifetime {clientLifetime} must be between 10 seconds and {397 * 86400} (397 days)");
            return null;
        }
        var requireClient = parse.GetValue(RequireClientCertificate);
        var names = (parse.GetValue(Names) ?? []).Concat(urls.Select(u => u.Host.Trim('[', ']')))
            .Where(n => n is not ("0.0.0.0" or "::" or "")).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        return o =>
        {
            o.TlsCaCertificateFile = cert is null ? null : Path.GetFullPath(cert);
            o.TlsCaKeyFile = key is null ? null : Path.GetFullPath(key);
            o.TlsNames = names;
            o.ClientCertificateLifetime = TimeSpan.FromSeconds(clientLifetime);
            o.RequireClientCertificate = requireClient;
        };
    }
}
