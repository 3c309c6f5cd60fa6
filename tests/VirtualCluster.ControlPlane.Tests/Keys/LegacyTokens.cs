using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace VirtualCluster.ControlPlane.Tests.Keys;

/// <summary>Tokens as releases before ES256 made them: HS256 with the cluster's HMAC key, no kid.</summary>
internal static class LegacyTokens
{
    public static string Issue(byte[] key, string subject, string role, string audience, DateTimeOffset now, DateTimeOffset? expires) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "virtualcluster",
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires?.UtcDateTime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["role"] = role, ["jti"] = Guid.NewGuid().ToString("N"), ["mgen"] = "g1" },
        });
}
