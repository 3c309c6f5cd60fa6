using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VirtualCluster.Acme;

/// <summary>
/// The account key and the JSON Web Signatures every ACME request carries (RFC 8555 6.2, RFC 7515 flattened JSON):
/// ES256 over P-256, the signature as r||s (RFC 7518 3.4), the key as a JWK until the account has a URL, then its kid.
/// </summary>
public sealed class AcmeAccountKey : IDisposable
{
    private readonly ECDsa _key;

    /// <summary>Wraps a P-256 key (the caller keeps it to reuse the account).</summary>
    public AcmeAccountKey(ECDsa key)
    {
        if (key.KeySize != 256) throw new ArgumentException("ACME account keys here are P-256 (ES256)", nameof(key));
        _key = key;
        var p = key.ExportParameters(includePrivateParameters: false);
        X = Base64Url(p.Q.X!);
        Y = Base64Url(p.Q.Y!);
        // RFC 7638: the thumbprint hashes the required members in lexicographic order, no spaces.
        Thumbprint = Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes($"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{X}\",\"y\":\"{Y}\"}}")));
    }

    /// <summary>A new random P-256 account key.</summary>
    public static AcmeAccountKey Create() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>The key's PKCS#8 PEM, to store and load with <see cref="FromPem"/>.</summary>
    public string ExportPem() => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>Loads a key written by <see cref="ExportPem"/>.</summary>
    public static AcmeAccountKey FromPem(string pem)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return new AcmeAccountKey(key);
    }

    internal string X { get; }
    internal string Y { get; }

    /// <summary>The JWK thumbprint (RFC 7638), part of every key authorization.</summary>
    public string Thumbprint { get; }

    /// <summary>token + "." + thumbprint (RFC 8555 8.1): what an HTTP-01 challenge serves.</summary>
    public string KeyAuthorization(string token) => $"{token}.{Thumbprint}";

    /// <summary>A flattened JWS of <paramref name="payload"/> (null = POST-as-GET, an empty payload).</summary>
    internal string Sign(string url, string nonce, string? accountUrl, JsonNode? payload)
    {
        var header = new JsonObject { ["alg"] = "ES256", ["nonce"] = nonce, ["url"] = url };
        if (accountUrl is null) header["jwk"] = new JsonObject { ["crv"] = "P-256", ["kty"] = "EC", ["x"] = X, ["y"] = Y };
        else header["kid"] = accountUrl;
        var protectedPart = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString()));
        var payloadPart = payload is null ? "" : Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var signature = _key.SignData(Encoding.ASCII.GetBytes($"{protectedPart}.{payloadPart}"), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return JsonSerializer.Serialize(new Dictionary<string, string> { ["protected"] = protectedPart, ["payload"] = payloadPart, ["signature"] = Base64Url(signature) });
    }

    internal static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
