using System.Collections.Frozen;
using Microsoft.IdentityModel.Tokens;

namespace VirtualCluster.Security;

/// <summary>
/// The keys a <see cref="TokenService"/> signs and validates with: at most one private <see cref="Signer"/> (this
/// process's), the published public keys of the cluster (every control plane's, each with the time it retires), and,
/// for clusters made before ES256, the old HMAC key with the time it stops being accepted. Thread-safe: readers see one
/// consistent copy; writers swap it whole.
/// </summary>
public sealed class TokenKeyRing
{
    /// <summary>Shortest time between two <see cref="Refresh"/> calls caused by tokens with an unknown key id.</summary>
    public static readonly TimeSpan MinRefreshInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private volatile Snapshot _current;
    private long _lastRefresh = long.MinValue;

    internal sealed record VerificationKey(TokenPublicKey PublicKey, SecurityKey SecurityKey, DateTimeOffset? RetireAfter);

    internal sealed record Snapshot(
        TokenSigningKey? Signer,
        FrozenDictionary<string, VerificationKey> Keys,
        SymmetricSecurityKey? LegacyKey,
        DateTimeOffset? LegacyUntil);

    /// <summary>A ring that signs with <paramref name="signer"/> (null: validates only) and accepts its key.</summary>
    public TokenKeyRing(TokenSigningKey? signer = null)
    {
        _current = Build(signer, [], null, null);
    }

    /// <summary>A ring with a new random key, for a process that is its own cluster (tests, tools).</summary>
    public static TokenKeyRing CreateEphemeral() => new(TokenSigningKey.Create());

    /// <summary>
    /// Called (at most once per <see cref="MinRefreshInterval"/>) when a token names a key this ring does not know: a
    /// control plane reloads the published keys, since another one may just have added its own.
    /// </summary>
    public Func<CancellationToken, Task>? Refresh { get; set; }

    /// <summary>The id of the key new tokens are signed with; null when this ring only validates.</summary>
    public string? SigningKeyId => _current.Signer?.KeyId;

    /// <summary>The key new tokens are signed with; null when this ring only validates.</summary>
    public TokenSigningKey? Signer => _current.Signer;

    /// <summary>True while tokens of the old HMAC key (clusters made before ES256) are still accepted at <paramref name="now"/>.</summary>
    public bool AcceptsLegacy(DateTimeOffset now) => _current is { LegacyKey: not null, LegacyUntil: { } until } && now < until;

    /// <summary>The public keys accepted at <paramref name="now"/> (not retired), the signer's included.</summary>
    public IReadOnlyList<TokenPublicKey> ActiveKeys(DateTimeOffset now) =>
        [.. _current.Keys.Values.Where(k => k.RetireAfter is not { } retire || now < retire).Select(k => k.PublicKey).OrderBy(k => k.KeyId, StringComparer.Ordinal)];

    /// <summary>
    /// True when <paramref name="keyId"/> names a known key that is not scheduled to retire: a long-lived token it
    /// signed (the bootstrap admin and join tokens) can stay as it is. False for null (the old HMAC key), unknown keys
    /// and keys rotated out.
    /// </summary>
    public bool IsCurrentKey(string? keyId) =>
        keyId is not null && _current.Keys.TryGetValue(keyId, out var key) && key.RetireAfter is null;

    /// <summary>Signs new tokens with <paramref name="signer"/> from now on (its key is accepted too).</summary>
    public void SetSigner(TokenSigningKey? signer)
    {
        lock (_gate)
        {
            var c = _current;
            _current = Build(signer, c.Keys.Values, c.LegacyKey, c.LegacyUntil);
        }
    }

    /// <summary>
    /// Replaces the published keys: a token is accepted only when signed by one of them (or the signer) before its
    /// retire time. Keys already known keep their verifier (so the crypto layer's caches stay warm).
    /// </summary>
    public void SetPublished(IEnumerable<(TokenPublicKey Key, DateTimeOffset? RetireAfter)> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        lock (_gate)
        {
            var c = _current;
            var known = c.Keys;
            var list = keys.Select(k => known.TryGetValue(k.Key.KeyId, out var have) && have.PublicKey == k.Key
                ? have with { RetireAfter = k.RetireAfter }
                : new VerificationKey(k.Key, new ECDsaSecurityKey(k.Key.CreateECDsa()) { KeyId = k.Key.KeyId }, k.RetireAfter));
            _current = Build(c.Signer, list, c.LegacyKey, c.LegacyUntil);
        }
    }

    /// <summary>
    /// Accepts HS256 tokens without a key id signed with <paramref name="key"/> (a cluster's pre-ES256 key) until
    /// <paramref name="until"/>; null turns that off.
    /// </summary>
    public void SetLegacy(byte[]? key, DateTimeOffset? until)
    {
        if (key is not null && key.Length < TokenService.KeySize)
            throw new ArgumentException($"The legacy key must be at least {TokenService.KeySize} bytes.", nameof(key));
        lock (_gate)
        {
            var c = _current;
            _current = c with { LegacyKey = key is null || until is null ? null : new SymmetricSecurityKey((byte[])key.Clone()), LegacyUntil = key is null ? null : until };
        }
    }

    internal Snapshot Current => _current;

    /// <summary>Runs <see cref="Refresh"/> unless one ran less than <see cref="MinRefreshInterval"/> ago; true when it ran.</summary>
    internal async ValueTask<bool> TryRefreshAsync(TimeProvider time)
    {
        if (Refresh is not { } refresh) return false;
        if (Interlocked.Read(ref _lastRefresh) != long.MinValue && time.GetElapsedTime(Interlocked.Read(ref _lastRefresh)) < MinRefreshInterval) return false;
        await _refreshing.WaitAsync().ConfigureAwait(false);
        try
        {
            // Another caller may have refreshed while this one waited.
            if (Interlocked.Read(ref _lastRefresh) != long.MinValue && time.GetElapsedTime(Interlocked.Read(ref _lastRefresh)) < MinRefreshInterval) return true;
            Interlocked.Exchange(ref _lastRefresh, time.GetTimestamp());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await refresh(timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false; // the store did not answer: the keys known stay as they are
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private static Snapshot Build(TokenSigningKey? signer, IEnumerable<VerificationKey> published, SymmetricSecurityKey? legacy, DateTimeOffset? legacyUntil)
    {
        var keys = new Dictionary<string, VerificationKey>(StringComparer.Ordinal);
        foreach (var key in published) keys[key.PublicKey.KeyId] = key;
        // The signer's own key is always accepted: a token signed a moment ago must validate before the store is read back.
        if (signer is not null && (!keys.TryGetValue(signer.KeyId, out var have) || have.RetireAfter is not null))
            keys[signer.KeyId] = new VerificationKey(signer.PublicKey, signer.SecurityKey, null);
        return new Snapshot(signer, keys.ToFrozenDictionary(StringComparer.Ordinal), legacy, legacyUntil);
    }
}
