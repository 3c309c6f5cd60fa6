using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace VirtualCluster.Security;

/// <summary>
/// The public half of a <see cref="TokenSigningKey"/>: a P-256 point (its coordinates base64url-encoded, as in a JWK,
/// RFC 7518 §6.2.1) and its key id.
/// </summary>
/// <param name="KeyId">The RFC 7638 thumbprint of the key (base64url SHA-256 of its canonical JWK).</param>
/// <param name="X">The x coordinate, 32 bytes base64url.</param>
/// <param name="Y">The y coordinate, 32 bytes base64url.</param>
public sealed record TokenPublicKey(string KeyId, string X, string Y)
{
    private const int CoordinateSize = 32;

    /// <summary>Checks a published key: coordinates of 32 bytes that name a point on P-256, and the key id matching them.</summary>
    public static bool TryCreate(string? keyId, string? x, string? y, [NotNullWhen(true)] out TokenPublicKey? key, [NotNullWhen(false)] out string? error)
    {
        key = null;
        if (string.IsNullOrWhiteSpace(keyId) || string.IsNullOrWhiteSpace(x) || string.IsNullOrWhiteSpace(y))
        {
            error = "a key needs kid, x and y";
            return false;
        }
        byte[] xs, ys;
        try
        {
            xs = Base64UrlEncoder.DecodeBytes(x);
            ys = Base64UrlEncoder.DecodeBytes(y);
        }
        catch (FormatException)
        {
            error = $"key {keyId}: x and y must be base64url";
            return false;
        }
        if (xs.Length != CoordinateSize || ys.Length != CoordinateSize)
        {
            error = $"key {keyId}: x and y must be {CoordinateSize} bytes each (P-256)";
            return false;
        }
        var candidate = new TokenPublicKey(Thumbprint(x, y), x, y);
        if (candidate.KeyId != keyId)
        {
            error = $"key {keyId}: its kid is not the thumbprint of its x and y";
            return false;
        }
        try
        {
            using var ecdsa = candidate.CreateECDsa(); // throws when the point is not on the curve
        }
        catch (CryptographicException)
        {
            error = $"key {keyId}: x and y are not a point on P-256";
            return false;
        }
        key = candidate;
        error = null;
        return true;
    }

    internal static TokenPublicKey FromParameters(ECParameters parameters)
    {
        var x = Base64UrlEncoder.Encode(parameters.Q.X!);
        var y = Base64UrlEncoder.Encode(parameters.Q.Y!);
        return new TokenPublicKey(Thumbprint(x, y), x, y);
    }

    /// <summary>A verifier for this key. The caller owns it.</summary>
    internal ECDsa CreateECDsa() => ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(X), Y = Base64UrlEncoder.DecodeBytes(Y) },
    });

    /// <summary>This key as a JWK (RFC 7517): kty EC, crv P-256, use sig, alg ES256.</summary>
    public PublicJwk ToJwk() => new("EC", "P-256", X, Y, KeyId, "sig", TokenSigningKey.Algorithm);

    // RFC 7638 §3.2: the required members of an EC key in lexicographic order, no whitespace.
    private static string Thumbprint(string x, string y) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes($$"""{"crv":"P-256","kty":"EC","x":"{{x}}","y":"{{y}}"}""")));
}
