using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Keys;

public sealed partial class TokenKeyManager
{
    /// <summary>
    /// Retires <paramref name="kid"/> now, without the grace a rotation gives: for a key whose private half may have been
    /// stolen. Its tokens are refused from this moment on this control plane and within one refresh interval on every
    /// other. When it is this control plane's signing key, a new key replaces it first; when it is another control plane's,
    /// that one makes a new key at its next refresh (<see cref="TickAsync"/>).
    /// </summary>
    /// <returns>The set as written, or null when no published key has that id.</returns>
    /// <exception cref="InvalidOperationException">The store kept changing under the write.</exception>
    public async Task<TokenKeySet?> RetireAsync(string kid, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kid);
        await _gate.WaitAsync(ct);
        try
        {
            var set = kid == Ring.SigningKeyId
                ? await PublishAsync(TokenSigningKey.Create(), new HashSet<string>(StringComparer.Ordinal) { kid }, legacy: false, rotateEverywhere: false, ct)
                : await RetireElsewhereAsync(kid, ct);
            if (set is null) return null;
            Apply(set);
            _setChanged = true; // bootstrap tokens signed by the key are issued again at once
            Log.Retired(_logger, kid);
            return set;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<TokenKeySet?> RetireElsewhereAsync(string kid, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var raw = await _store.GetSettingAsync(TokenKeySet.SettingKey, ct);
            var set = TokenKeySet.Parse(raw, out _);
            if (set.Keys.All(k => k.Kid != kid)) return null;
            var now = _time.GetUtcNow();
            if (set.Keys.Single(k => k.Kid == kid).RetireAfter is { } already && already <= now) return set;
            var next = set with { Keys = [.. set.Keys.Select(k => k.Kid == kid ? k with { RetireAfter = now } : k)] };
            if (await _store.ReplaceSettingAsync(TokenKeySet.SettingKey, raw, next.Serialize(), ct)) return next;
        }
        throw new InvalidOperationException($"The published token key set changed under {MaxAttempts} attempts to write it; try again.");
    }
}
