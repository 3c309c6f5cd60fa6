using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.Security;

namespace VirtualCluster.ControlPlane.Keys;

/// <summary>One published public key: who may validate with it and until when.</summary>
/// <param name="Kid">Key id (RFC 7638 thumbprint).</param>
/// <param name="X">P-256 x coordinate, base64url.</param>
/// <param name="Y">P-256 y coordinate, base64url.</param>
/// <param name="Created">When the control plane that owns the private key made it.</param>
/// <param name="RetireAfter">When its tokens stop being accepted; null while it is a control plane's signing key.</param>
public sealed record PublishedTokenKey(string Kid, string X, string Y, DateTimeOffset Created, DateTimeOffset? RetireAfter);

/// <summary>
/// The cluster's key set, one settings document in the store (<c>token-keys</c>), changed only by compare-and-set so
/// control planes rotating at once both land: the public keys of every control plane, a cluster-wide rotation
/// request (<c>vcluster keys rotate</c>: each control plane whose key is older makes a new one), and how long the
/// pre-ES256 HMAC key of an upgraded cluster is still accepted.
/// </summary>
public sealed record TokenKeySet(IReadOnlyList<PublishedTokenKey> Keys, DateTimeOffset? RotateRequestedAt, DateTimeOffset? LegacyUntil)
{
    /// <summary>The store setting holding the set.</summary>
    public const string SettingKey = "token-keys";

    /// <summary>An empty set.</summary>
    public static readonly TokenKeySet Empty = new([], null, null);

    /// <summary>Reads the stored document; entries that are not valid P-256 keys are left out (and named in <paramref name="skipped"/>).</summary>
    public static TokenKeySet Parse(string? raw, out IReadOnlyList<string> skipped)
    {
        skipped = [];
        if (string.IsNullOrWhiteSpace(raw)) return Empty;
        TokenKeySet? set;
        try
        {
            set = JsonSerializer.Deserialize<TokenKeySet>(raw, VirtualClusterJson.Options);
        }
        catch (JsonException e)
        {
            skipped = [$"the {SettingKey} setting is not valid JSON ({e.Message})"];
            return Empty;
        }
        if (set?.Keys is null) return Empty;
        var bad = new List<string>();
        var good = new List<PublishedTokenKey>();
        foreach (var key in set.Keys)
        {
            if (key is null) continue;
            if (TokenPublicKey.TryCreate(key.Kid, key.X, key.Y, out _, out var error)) good.Add(key);
            else bad.Add(error);
        }
        skipped = bad;
        return set with { Keys = good };
    }

    /// <summary>The document to store.</summary>
    public string Serialize() =>
        JsonSerializer.Serialize(this with { Keys = [.. Keys.OrderBy(k => k.Created).ThenBy(k => k.Kid, StringComparer.Ordinal)] }, VirtualClusterJson.Options);

    /// <summary>The public keys with their retire times, for a <see cref="TokenKeyRing"/>.</summary>
    public IEnumerable<(TokenPublicKey Key, DateTimeOffset? RetireAfter)> ForRing() =>
        Keys.Select(k => (new TokenPublicKey(k.Kid, k.X, k.Y), k.RetireAfter));
}
