using System.Net;
using System.Net.NetworkInformation;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using VirtualCluster.Security.Tls;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Tls;

/// <summary>
/// The cluster CA (made on first start and kept in the store, so every control plane of an HA cluster serves
/// certificates from the same CA; or supplied by the user as two PEM files) and this control plane's own server
/// certificate, renewed before it expires. The CA's certificate and fingerprint are written to the data directory
/// (<c>ca.crt</c>, <c>ca.fingerprint</c>) for CLIs and curl; its key is never written there.
/// </summary>
public sealed partial class ClusterTls
{
    /// <summary>File in the data directory with the CA certificate (PEM).</summary>
    public const string CaCertificateFile = "ca.crt";

    /// <summary>File in the data directory with the CA fingerprint (sha256:...).</summary>
    public const string FingerprintFile = "ca.fingerprint";

    private const string StoreKey = "cluster-ca";
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;
    private readonly IReadOnlyList<string> _names;
    private readonly Lock _gate = new();
    private SslStreamCertificateContext? _context;
    private DateTimeOffset _renewAt;

    private ClusterTls(ClusterCa ca, TimeSpan lifetime, IReadOnlyList<string> names, TimeProvider time)
    {
        Ca = ca;
        _lifetime = lifetime;
        _names = names;
        _time = time;
        Validator = PinnedCaValidator.ForCertificate(ca.Certificate);
    }

    /// <summary>The cluster CA.</summary>
    public ClusterCa Ca { get; }

    /// <summary>The CA's fingerprint, carried by join tokens.</summary>
    public string Fingerprint => Ca.Fingerprint;

    /// <summary>Checks a peer control plane's certificate (leader forwarding).</summary>
    public PinnedCaValidator Validator { get; }

    /// <summary>Times a server certificate was issued by this process (the first, and each renewal).</summary>
    public int CertificatesIssued { get; private set; }

    /// <summary>Loads the CA (user files, else the store, else a new one added to the store) and writes ca.crt.</summary>
    /// <exception cref="InvalidOperationException">User-supplied files are unreadable or not a CA and its key.</exception>
    public static async Task<ClusterTls> LoadOrCreateAsync(IClusterStore store, ControlPlaneOptions options, TimeProvider time, CancellationToken ct = default)
    {
        ClusterCa ca;
        if (options.TlsCaCertificateFile is { } certFile && options.TlsCaKeyFile is { } keyFile)
        {
            try
            {
                ca = ClusterCa.FromPem(await File.ReadAllTextAsync(certFile, ct), await File.ReadAllTextAsync(keyFile, ct));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new InvalidOperationException($"cannot use the CA in {certFile} and {keyFile}: {e.Message}", e);
            }
        }
        else
        {
            // Made by whichever control plane starts first; the others read the same one (add-if-absent in the store).
            using var fresh = ClusterCa.Create(await store.GetOrAddSettingAsync("cluster-id", "vc-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)), ct), time);
            var stored = await store.GetOrAddSettingAsync(StoreKey, JsonSerializer.Serialize(new StoredCa(fresh.CertificatePem(), fresh.KeyPem())), ct);
            var parsed = JsonSerializer.Deserialize<StoredCa>(stored) ?? throw new InvalidOperationException($"the store's {StoreKey} setting is empty");
            ca = ClusterCa.FromPem(parsed.Certificate, parsed.Key);
        }
        var tls = new ClusterTls(ca, options.ServerCertificateLifetime, [.. options.TlsNames], time);
        if (options.DataDirectory.Length > 0)
        {
            Directory.CreateDirectory(options.DataDirectory);
            await WriteAsync(Path.Combine(options.DataDirectory, CaCertificateFile), ca.CertificatePem(), ct);
            await WriteAsync(Path.Combine(options.DataDirectory, FingerprintFile), ca.Fingerprint + "\n", ct);
        }
        return tls;
    }

    /// <summary>The server certificate and CA chain to present; a new certificate once two thirds of its life are over.</summary>
    public SslStreamCertificateContext ServerContext()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_context is null || now >= _renewAt)
            {
                var certificate = Ca.IssueServerCertificate(DnsNames(), Addresses(), _lifetime, _time);
                // The CA goes with the leaf, so a client pinned by fingerprint finds it in the handshake.
                _context = SslStreamCertificateContext.Create(certificate, [Ca.Certificate], offline: true);
                _renewAt = now + (certificate.NotAfter.ToUniversalTime() - now.UtcDateTime) * 2 / 3;
                CertificatesIssued++;
            }
            return _context;
        }
    }

    private IEnumerable<string> DnsNames()
    {
        yield return "localhost";
        yield return Environment.MachineName.ToLowerInvariant();
        foreach (var name in _names)
            if (!IPAddress.TryParse(name, out _)) yield return name;
    }

    private IEnumerable<IPAddress> Addresses()
    {
        // Every local address, so `curl --cacert ca.crt https://<any address of this machine>:7070` checks out.
        yield return IPAddress.Loopback;
        yield return IPAddress.IPv6Loopback;
        foreach (var name in _names)
            if (IPAddress.TryParse(name, out var address)) yield return address;
        IEnumerable<IPAddress> local;
        try
        {
            local = [.. NetworkInterface.GetAllNetworkInterfaces().SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
                .Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork || !a.IsIPv6LinkLocal)];
        }
        catch (NetworkInformationException)
        {
            local = [];
        }
        foreach (var address in local) yield return address;
    }

    private static async Task WriteAsync(string path, string text, CancellationToken ct)
    {
        await File.WriteAllTextAsync(path + ".tmp", text, ct);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private sealed record StoredCa(string Certificate, string Key);
}
