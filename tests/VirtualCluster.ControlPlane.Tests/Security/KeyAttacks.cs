using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>Forgeries against the cluster's keys, made only from what an outsider can see (the JWK Set) or bring (its own key).</summary>
internal static class KeyAttacks
{
    /// <summary>
    /// Key confusion: an admin token signed HS256 with the cluster's public key as the HMAC secret (its DER encoding, as a
    /// library that takes "the key bytes" would use), read from the public JWK Set.
    /// </summary>
    public static async Task<string> KeyConfusionTokenAsync(ApiSecurityHost host, bool withKid)
    {
        var set = await host.Client(null).GetFromJsonAsync<PublicJwkSet>("v1/jwks");
        var jwk = set!.Keys!.First();
        using var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(jwk.X), Y = Base64UrlEncoder.DecodeBytes(jwk.Y) },
        });
        var secret = new SymmetricSecurityKey(ecdsa.ExportSubjectPublicKeyInfo()) { KeyId = withKid ? jwk.Kid : null };
        return Admin(new SigningCredentials(secret, SecurityAlgorithms.HmacSha256), set.Cluster!);
    }

    /// <summary>A well-formed ES256 admin token signed by a key the cluster never published.</summary>
    public static string UnknownKidToken(string cluster)
    {
        using var stranger = TokenSigningKey.Create();
        return Admin(stranger.Credentials, cluster);
    }

    /// <summary>An admin token, valid for an hour from <paramref name="now"/>, signed with <paramref name="credentials"/>.</summary>
    public static string Admin(SigningCredentials credentials, string cluster, DateTimeOffset? now = null)
    {
        var at = now ?? DateTimeOffset.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = TokenService.DefaultIssuer,
            Audience = cluster,
            IssuedAt = at.UtcDateTime,
            NotBefore = at.UtcDateTime,
            Expires = at.AddHours(1).UtcDateTime,
            SigningCredentials = credentials,
            Claims = new Dictionary<string, object> { ["sub"] = "admin", ["role"] = TokenRoles.Admin, ["jti"] = Guid.NewGuid().ToString("N") },
        });
    }
}
