using System.Collections.Concurrent;

namespace VirtualCluster.Security;

public sealed partial class TokenService
{
    /// <summary>Most tokens whose checked signature and claims are remembered; the memory is cleared when it is full.</summary>
    public const int ValidationCacheSize = 10_000;

    // An ES256 verification costs tens of microseconds; an agent presents the same machine token at every heartbeat.
    private readonly ConcurrentDictionary<string, TokenValidation> validated = new(StringComparer.Ordinal);

    /// <summary>
    /// Remember tokens that passed the signature and claims checks, so the same token presented again (an agent's
    /// heartbeats, a CLI's calls) skips the signature work. What can change is checked again on every use: expiry, the
    /// retirement of the key that signed it, and <see cref="Revocation"/>. Default true.
    /// </summary>
    public bool CacheValidations { get; init; } = true;

    private TokenValidation? TryGetCached(string token)
    {
        if (!CacheValidations || !validated.TryGetValue(token, out var hit)) return null;
        var principal = hit.Principal!;
        var now = timeProvider.GetUtcNow();
        var stillValid = (principal.ExpiresAt is not { } expires || now < expires)
            && (principal.KeyId is { } kid
                ? Keys.Current.Keys.TryGetValue(kid, out var key) && (key.RetireAfter is not { } retire || now < retire)
                : Keys.AcceptsLegacy(now));
        if (stillValid) return hit;
        validated.TryRemove(token, out _);
        return null; // checked in full again, so the refusal says why
    }

    private void Remember(string token, TokenValidation validation)
    {
        if (!CacheValidations || !validation.IsValid) return;
        if (validated.Count >= ValidationCacheSize) validated.Clear();
        validated[token] = validation;
    }
}
