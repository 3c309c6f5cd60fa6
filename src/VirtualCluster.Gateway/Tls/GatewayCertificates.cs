using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Gateway.Tls;

/// <summary>
/// The certificates the gateway serves, picked per TLS handshake by SNI: the exact name, then a wildcard for its
/// parent, then the user's fallback certificate. Each entry keeps its chain (leaf + intermediates) ready to send.
/// </summary>
public sealed class GatewayCertificates
{
    private readonly ConcurrentDictionary<string, Entry> _byName = new(StringComparer.OrdinalIgnoreCase);
    private volatile Entry? _fallback;

    /// <summary>A served certificate.</summary>
    /// <param name="Source">Where it came from: "ordered" (this gateway's ACME order), "store" (the cluster store: another gateway's) or "files" (the local cache).</param>
    public sealed record Entry(X509Certificate2 Leaf, SslStreamCertificateContext Context, string Source = "ordered");

    /// <summary>Serves <paramref name="leaf"/> (with its private key) for <paramref name="name"/> ("*.domain" for a wildcard).</summary>
    public void Set(string name, X509Certificate2 leaf, X509Certificate2Collection intermediates, string source = "ordered") =>
        _byName[name] = new Entry(leaf, SslStreamCertificateContext.Create(leaf, intermediates, offline: true), source);

    /// <summary>The certificate served when no other matches (the user's own). Null removes it.</summary>
    public void SetFallback(X509Certificate2? leaf, X509Certificate2Collection? intermediates) =>
        _fallback = leaf is null ? null : new Entry(leaf, SslStreamCertificateContext.Create(leaf, intermediates ?? [], offline: true));

    /// <summary>The certificate stored under exactly <paramref name="name"/>, if any.</summary>
    public Entry? Get(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Names with a certificate.</summary>
    public IReadOnlyCollection<string> Names => _byName.Keys.ToList();

    /// <summary>What a handshake for <paramref name="serverName"/> (SNI; may be empty) is answered with; null fails it.</summary>
    public Entry? Select(string? serverName)
    {
        if (!string.IsNullOrEmpty(serverName))
        {
            if (_byName.TryGetValue(serverName, out var exact)) return exact;
            var dot = serverName.IndexOf('.');
            if (dot > 0 && _byName.TryGetValue("*" + serverName[dot..], out var wildcard)) return wildcard;
        }
        return _fallback;
    }
}
