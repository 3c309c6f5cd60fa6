using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Keys;

public sealed partial class TokenKeyManager
{
    /// <summary>
    /// Publishes <paramref name="key"/> as this control plane's signing key in one compare-and-set: this control plane's
    /// other keys get a retire time (now + <see cref="Grace"/>, or now for <paramref name="retireNow"/>), keys retired
    /// for more than <see cref="ListRetiredFor"/> drop out, other control planes' keys are left as they are.
    /// Then signs with it and deletes the other private keys from disk.
    /// </summary>
    private async Task<TokenKeySet> PublishAsync(TokenSigningKey key, IReadOnlySet<string> retireNow, bool legacy, bool rotateEverywhere, CancellationToken ct)
    {
        _files.Save(key);
        _own.Add(key.KeyId);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var raw = await _store.GetSettingAsync(TokenKeySet.SettingKey, ct);
            var set = TokenKeySet.Parse(raw, out _);
            var now = _time.GetUtcNow();
            var keys = new List<PublishedTokenKey>();
            var retiring = new List<string>();
            foreach (var k in set.Keys)
            {
                if (k.RetireAfter is { } gone && now >= gone + ListRetiredFor) continue;
                if (k.Kid == key.KeyId || !_own.Contains(k.Kid)) keys.Add(k);
                else if (retireNow.Contains(k.Kid)) keys.Add(k with { RetireAfter = k.RetireAfter is { } r && r < now ? r : now });
                else if (k.RetireAfter is null)
                {
                    keys.Add(k with { RetireAfter = now + Grace });
                    retiring.Add(k.Kid);
                }
                else keys.Add(k);
            }
            if (keys.All(k => k.Kid != key.KeyId)) keys.Add(new PublishedTokenKey(key.KeyId, key.PublicKey.X, key.PublicKey.Y, now, null));
            var next = set with
            {
                Keys = keys,
                RotateRequestedAt = rotateEverywhere ? now : set.RotateRequestedAt,
                LegacyUntil = legacy ? set.LegacyUntil ?? now + Grace : set.LegacyUntil,
            };
            if (!await _store.ReplaceSettingAsync(TokenKeySet.SettingKey, raw, next.Serialize(), ct)) continue;

            var previous = Ring.SigningKeyId;
            Ring.SetSigner(key);
            foreach (var old in _own.Where(k => k != key.KeyId)) _files.Delete(old);
            if (previous is not null && previous != key.KeyId && !retireNow.Contains(previous)) Log.Rotated(_logger, previous, key.KeyId, now + Grace);
            else Log.Published(_logger, key.KeyId);
            return next;
        }
        throw new InvalidOperationException($"The published token key set changed under {MaxAttempts} attempts to write it; try again.");
    }

    private void Apply(TokenKeySet set)
    {
        Ring.SetPublished(set.ForRing());
        Ring.SetLegacy(_legacyKey, set.LegacyUntil);
    }
}
