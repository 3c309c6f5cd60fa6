using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace VirtualCluster.Security;

/// <summary>
/// A private ES256 key (ECDSA on P-256 with SHA-256, RFC 7518 §3.4) a control plane signs tokens with, named by its
/// <see cref="KeyId"/> (the RFC 7638 thumbprint of its public key, so two keys never share a name).
/// </summary>
public sealed class TokenSigningKey : IDisposable
{
    /// <summary>The JWS algorithm of every token this cluster signs.</summary>
    public const string Algorithm = "ES256";

    private readonly ECDsa _key;

    private TokenSigningKey(ECDsa key)
    {
        _key = key;
        PublicKey = TokenPublicKey.FromParameters(key.ExportParameters(includePrivateParameters: false));
        KeyId = PublicKey.KeyId;
        SecurityKey = new ECDsaSecurityKey(key) { KeyId = KeyId };
        Credentials = new SigningCredentials(SecurityKey, SecurityAlgorithms.EcdsaSha256);
    }

    /// <summary>The key's id, written as the <c>kid</c> header of every token it signs.</summary>
    public string KeyId { get; }

    /// <summary>The public half, to publish.</summary>
    public TokenPublicKey PublicKey { get; }

    internal ECDsaSecurityKey SecurityKey { get; }

    /// <summary>Credentials for signing with this key (ES256, its kid), for a hand-made token (tests, tools).</summary>
    public SigningCredentials Credentials { get; }

    /// <summary>Makes a new random P-256 key.</summary>
    public static TokenSigningKey Create() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Reads a key written by <see cref="ExportPem"/> (PKCS#8 PEM).</summary>
    /// <exception cref="FormatException">Not a PEM private key, or not on P-256.</exception>
    public static TokenSigningKey FromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            var parameters = key.ExportParameters(includePrivateParameters: true);
            if (parameters.Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value || parameters.D is null)
                throw new FormatException("The key is not a P-256 private key (ES256 needs one).");
            return new TokenSigningKey(key);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new FormatException($"Not a PEM-encoded P-256 private key: {e.Message}", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>The private key as PKCS#8 PEM, for a file only its owner can read.</summary>
    public string ExportPem() => _key.ExportPkcs8PrivateKeyPem();

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
