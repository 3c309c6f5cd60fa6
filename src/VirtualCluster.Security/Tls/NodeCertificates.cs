using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VirtualCluster.Security.Tls;

/// <summary>Who a client certificate of the cluster CA speaks for: one node (at one credential generation), or a control plane.</summary>
/// <param name="NodeId">The node's id; null for a control plane.</param>
/// <param name="Generation">The node's machine-credential generation when the certificate was issued (a join or token renewal); null for a control plane.</param>
public sealed record ClientIdentity(string? NodeId, string? Generation)
{
    /// <summary>The identity of a control plane forwarding an agent's request to the leader.</summary>
    public static readonly ClientIdentity ControlPlane = new(null, null);

    /// <summary>True for a control plane's certificate.</summary>
    public bool IsControlPlane => NodeId is null;
}

/// <summary>
/// Client certificates of the cluster: an agent's (one per node, extended key usage clientAuth, the node bound in a
/// URI SAN <c>vcluster://node/&lt;id&gt;?generation=&lt;g&gt;</c>) and a control plane's (<c>vcluster://control-plane</c>,
/// used when a follower forwards an agent's request to the leader). The URI, not the subject, is what counts: the CA
/// writes it from what the control plane knows, never from what a request asks for.
/// </summary>
public static class NodeCertificates
{
    /// <summary>The extended key usage of a TLS client certificate.</summary>
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>Scheme of the identity URIs.</summary>
    public const string Scheme = "vcluster";

    private const string NodeHost = "node";
    private const string ControlPlaneHost = "control-plane";
    private const int MaxCsrPem = 16 * 1024;

    /// <summary>The URI SAN that names <paramref name="identity"/>.</summary>
    public static Uri IdentityUri(ClientIdentity identity) => identity.IsControlPlane
        ? new Uri($"{Scheme}://{ControlPlaneHost}/")
        : new Uri($"{Scheme}://{NodeHost}/{Uri.EscapeDataString(identity.NodeId!)}?generation={Uri.EscapeDataString(identity.Generation ?? "")}");

    /// <summary>A new P-256 key and a PKCS#10 request for it (PEM), as an agent sends at join and at renewal.</summary>
    public static (ECDsa Key, string RequestPem) CreateRequest(string nodeName)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new string(nodeName.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_').Take(60).ToArray());
        var request = new CertificateRequest(new X500DistinguishedName($"CN={(name.Length > 0 ? name : "node")}"), key, HashAlgorithmName.SHA256);
        return (key, request.CreateSigningRequestPem());
    }

    /// <summary>
    /// Reads a PKCS#10 request and checks its signature (the sender holds the private key) and key (ECDSA P-256 or
    /// P-384). Only its public key is used; names and extensions in it are ignored.
    /// </summary>
    public static bool TryReadRequest(string? pem, [NotNullWhen(true)] out PublicKey? publicKey, [NotNullWhen(false)] out string? problem)
    {
        publicKey = null;
        if (string.IsNullOrWhiteSpace(pem) || pem.Length > MaxCsrPem)
        {
            problem = $"certificateRequest must be a PEM certificate signing request (PKCS#10) of at most {MaxCsrPem} characters";
            return false;
        }
        CertificateRequest request;
        try
        {
            // The signature is checked here: it proves the sender holds the private key.
            request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            problem = $"certificateRequest is not a valid signed PEM certificate signing request (PKCS#10): {e.Message}";
            return false;
        }
        using var key = request.PublicKey.GetECDsaPublicKey();
        if (key is null || key.KeySize is not (256 or 384))
        {
            problem = "certificateRequest must be for an ECDSA P-256 or P-384 key (e.g. `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256`)";
            return false;
        }
        publicKey = request.PublicKey;
        problem = null;
        return true;
    }

    /// <summary>
    /// A certificate (PEM) with its private key, usable by SslStream as a client certificate. Through PKCS#12, since
    /// SslStream on Linux cannot use a key that only lives in memory.
    /// </summary>
    /// <exception cref="CryptographicException">The PEM is not a certificate.</exception>
    /// <exception cref="ArgumentException">The key is not the certificate's.</exception>
    public static X509Certificate2 WithKey(string certificatePem, ECDsa key)
    {
        using var certificate = X509Certificate2.CreateFromPem(certificatePem);
        using var withKey = certificate.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>The identity a certificate's URI SAN names; null when it names none of the cluster's.</summary>
    public static ClientIdentity? ReadIdentity(X509Certificate2 certificate)
    {
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (names is null) return null;
        ClientIdentity? found = null;
        foreach (var uri in UriNames(names))
        {
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme != Scheme) continue;
            ClientIdentity? identity = parsed.Host switch
            {
                ControlPlaneHost => ClientIdentity.ControlPlane,
                NodeHost when parsed.Segments.Length == 2 => new ClientIdentity(Uri.UnescapeDataString(parsed.Segments[1]), Generation(parsed.Query)),
                _ => null,
            };
            // Two identities in one certificate: the CA never issues that, so it is not one of ours.
            if (identity is null || (found is not null && found != identity)) return null;
            found = identity;
        }
        return found;
    }

    private static string? Generation(string query)
    {
        const string prefix = "?generation=";
        return query.StartsWith(prefix, StringComparison.Ordinal) && query.Length > prefix.Length ? Uri.UnescapeDataString(query[prefix.Length..]) : null;
    }

    private static IEnumerable<string> UriNames(X509SubjectAlternativeNameExtension names)
    {
        // .NET enumerates DNS names and addresses only; URIs are read from the DER (context tag [6], IA5String).
        var reader = new System.Formats.Asn1.AsnReader(names.RawData, System.Formats.Asn1.AsnEncodingRules.DER);
        var sequence = reader.ReadSequence();
        var uriTag = new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 6);
        var found = new List<string>();
        while (sequence.HasData)
        {
            var tag = sequence.PeekTag();
            if (tag.HasSameClassAndValue(uriTag)) found.Add(sequence.ReadCharacterString(System.Formats.Asn1.UniversalTagNumber.IA5String, uriTag));
            else sequence.ReadEncodedValue();
        }
        return found;
    }
}
