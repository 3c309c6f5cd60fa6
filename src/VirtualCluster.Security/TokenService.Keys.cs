using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace VirtualCluster.Security;

public sealed partial class TokenService
{
    // Validation parameters per key, made once per key (not per token) so the crypto layer's caches stay warm.
    private readonly ConditionalWeakTable<SecurityKey, TokenValidationParameters> parametersByKey = new();

    /// <summary>
    /// Picks the one key a token may be checked with, from its header, before any signature work: ES256 with the
    /// <c>kid</c> of a published key that has not retired; or, only in a cluster made before ES256 and only until that
    /// key's grace ends, HS256 with no <c>kid</c>, checked with the old HMAC key from the store. Everything else is
    /// refused here: <c>alg: none</c>, HS256 signed with a public key (key confusion: a public key is never an HMAC
    /// key here), other algorithms, unknown and retired keys.
    /// </summary>
    private async ValueTask<(TokenValidationParameters? Parameters, string? Refusal)> ChooseKeyAsync(JsonWebToken jwt)
    {
        var alg = jwt.Alg;
        var kid = jwt.Kid;
        var now = timeProvider.GetUtcNow();
        if (alg == SecurityAlgorithms.HmacSha256 && string.IsNullOrEmpty(kid) && Keys.Current is { LegacyKey: { } legacy, LegacyUntil: { } until })
            return now < until
                ? (For(legacy, SecurityAlgorithms.HmacSha256), null)
                : (null, string.Create(CultureInfo.InvariantCulture, $"token was signed with the cluster's old HMAC key, retired at {until:yyyy-MM-dd HH:mm:ss} UTC; get a new token"));
        if (alg != TokenSigningKey.Algorithm)
            return (null, $"token algorithm \"{Truncate(alg ?? "")}\" is not accepted; this cluster signs its tokens with {TokenSigningKey.Algorithm}");
        if (string.IsNullOrEmpty(kid)) return (null, "token has no key id (kid); this cluster's tokens name the key that signed them");

        if (!Keys.Current.Keys.TryGetValue(kid, out var key))
        {
            // Another control plane may just have published a new key: read the published set again (rate-limited).
            if (!await Keys.TryRefreshAsync(timeProvider).ConfigureAwait(false) || !Keys.Current.Keys.TryGetValue(kid, out key))
                return (null, jwt.Issuer != Issuer ? "token was issued by another cluster" : $"token was signed with an unknown key \"{Truncate(kid)}\" (another cluster's, or a key retired long ago)");
        }
        if (key.RetireAfter is { } retired && now >= retired)
            return (null, string.Create(CultureInfo.InvariantCulture, $"token was signed with key \"{kid}\", rotated out and retired at {retired:yyyy-MM-dd HH:mm:ss} UTC; get a new token"));
        return (For(key.SecurityKey, TokenSigningKey.Algorithm), null);
    }

    private TokenValidationParameters For(SecurityKey key, string algorithm) =>
        parametersByKey.GetValue(key, k =>
        {
            var p = parameters.Clone();
            p.IssuerSigningKey = k;
            p.ValidAlgorithms = [algorithm];
            // Old HMAC tokens have no kid, and the handler matches keys by kid unless told to try "all" (here: the one key).
            p.TryAllIssuerSigningKeys = algorithm == SecurityAlgorithms.HmacSha256;
            return p;
        });
}
