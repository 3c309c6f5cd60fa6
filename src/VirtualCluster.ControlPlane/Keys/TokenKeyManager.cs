using Microsoft.Extensions.Logging;
using VirtualCluster.Security;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Keys;

/// <summary>
/// This control plane's token keys: its private signing key on its disk (<see cref="SigningKeyFiles"/>), the cluster's
/// published key set in the store (<see cref="TokenKeySet"/>), and the <see cref="Ring"/> every token check uses.
/// Each control plane signs with its own key and publishes the public half; every control plane accepts every
/// published key that has not retired. Rotation makes a new key, publishes it and gives this control plane's old key
/// a retire time (now + <see cref="Grace"/>), all in one compare-and-set, so concurrent rotations never lose a key.
/// </summary>
public sealed partial class TokenKeyManager
{
    /// <summary>Retired keys stay listed (as retired) this long, then drop out of the set.</summary>
    public static readonly TimeSpan ListRetiredFor = TimeSpan.FromDays(7);

    private const string LegacyKeySetting = "signing-key";
    private const int MaxAttempts = 50;
    private static readonly IReadOnlySet<string> NoKeys = System.Collections.Frozen.FrozenSet<string>.Empty;

    private readonly IClusterStore _store;
    private readonly SigningKeyFiles _files;
    private readonly TokenKeyOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<string> _own = new(StringComparer.Ordinal);
    private string? _lastRaw;
    private bool _setChanged;
    private byte[]? _legacyKey;

    /// <param name="longestTokenLifetime">The longest lifetime of any token a key may sign (user tokens: 90 days; machine tokens if longer).</param>
    public TokenKeyManager(IClusterStore store, string dataDirectory, TokenKeyOptions options, TimeSpan longestTokenLifetime, TimeProvider time, ILogger<TokenKeyManager> logger)
    {
        _store = store;
        _files = new SigningKeyFiles(dataDirectory, logger);
        _options = options;
        _time = time;
        _logger = logger;
        Grace = longestTokenLifetime + options.RetireMargin;
        Ring = new TokenKeyRing { Refresh = ReloadAsync };
    }

    /// <summary>The keys token checks use; kept in step with the store.</summary>
    public TokenKeyRing Ring { get; }

    /// <summary>How long after rotation a key's tokens are still accepted: the longest token lifetime plus the margin.</summary>
    public TimeSpan Grace { get; }

    /// <summary>
    /// Loads this control plane's key from disk (or makes one), publishes it, reads the cluster's set, and for a cluster
    /// made before ES256 keeps accepting its HMAC key's expiring tokens for one <see cref="Grace"/> from now.
    /// </summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            _files.Prepare();
            var loaded = _files.Load();
            var set = await ReadAsync(ct);
            var exposed = loaded.Where(k => k.Exposed).Select(k => k.Key.KeyId).ToHashSet(StringComparer.Ordinal);
            foreach (var key in loaded) _own.Add(key.Key.KeyId);
            // The newest of this control plane's keys that is still published and not retiring signs; a key written
            // but never published (a crash in between) is published now.
            var current = loaded.Where(k => !k.Exposed)
                .Select(k => (k.Key, Published: set.Keys.FirstOrDefault(p => p.Kid == k.Key.KeyId)))
                .Where(k => k.Published is null || k.Published.RetireAfter is null)
                .OrderByDescending(k => k.Published?.Created ?? DateTimeOffset.MaxValue)
                .Select(k => k.Key).FirstOrDefault();
            var legacy = TokenService.TryDecodeKey(await _store.GetSettingAsync(LegacyKeySetting, ct), out var legacyKey) ? legacyKey : null;
            if (current is null || exposed.Count > 0 || (legacy is not null && set.LegacyUntil is null))
            {
                set = await PublishAsync(current ?? TokenSigningKey.Create(), retireNow: exposed, legacy is not null, rotateEverywhere: false, ct);
            }
            else
            {
                Ring.SetSigner(current);
                if (set.Keys.All(k => k.Kid != current.KeyId)) set = await PublishAsync(current, NoKeys, legacy is not null, rotateEverywhere: false, ct);
            }
            _legacyKey = legacy;
            Apply(set);
            Log.Started(_logger, Ring.SigningKeyId!, set.Keys.Count, set.LegacyUntil is { } until && legacy is not null ? $"; tokens of the old HMAC key accepted until {until:yyyy-MM-dd HH:mm} UTC" : "");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reads the published set into the ring (other control planes' keys, retirements).</summary>
    public async Task ReloadAsync(CancellationToken ct = default) => Apply(await ReadAsync(ct));

    /// <summary>
    /// The periodic step: reload, then rotate when this control plane's key is older than <see cref="TokenKeyOptions.RotateEvery"/>
    /// or an admin asked for a rotation after it was made. True when this control plane rotated.
    /// </summary>
    public async Task<bool> TickAsync(CancellationToken ct = default)
    {
        // Under the gate: a rotation or retirement on this control plane between the read and the check would
        // otherwise look like a missing or retired key and cause a second rotation.
        await _gate.WaitAsync(ct);
        try
        {
            var set = await ReadAsync(ct);
            Apply(set);
            var mine = set.Keys.FirstOrDefault(k => k.Kid == Ring.SigningKeyId);
            var now = _time.GetUtcNow();
            var due = mine is null ? "its key is missing from the published set"
                : mine.RetireAfter is not null ? "an admin retired its key"
                : now - mine.Created >= _options.RotateEvery ? $"its key is {(now - mine.Created).TotalDays:0.#} days old (rotate every {_options.RotateEvery.TotalDays:0.#})"
                : set.RotateRequestedAt is { } asked && asked > mine.Created ? $"an admin asked for a rotation at {asked:yyyy-MM-dd HH:mm:ss} UTC"
                : null;
            if (due is null) return false;
            Log.Rotating(_logger, due);
            Apply(await PublishAsync(TokenSigningKey.Create(), NoKeys, legacy: false, rotateEverywhere: false, ct));
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Makes a new signing key, publishes it and schedules this control plane's old key to retire after <see cref="Grace"/>.
    /// With <paramref name="everywhere"/>, also asks every other control plane to do the same (within its refresh interval).
    /// </summary>
    /// <exception cref="InvalidOperationException">The store kept changing under the write.</exception>
    public async Task<TokenKeySet> RotateAsync(bool everywhere, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var set = await PublishAsync(TokenSigningKey.Create(), NoKeys, legacy: false, everywhere, ct);
            Apply(set);
            return set;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The published set as stored now.</summary>
    public async Task<TokenKeySet> ReadAsync(CancellationToken ct = default)
    {
        var raw = await _store.GetSettingAsync(TokenKeySet.SettingKey, ct);
        var set = TokenKeySet.Parse(raw, out var skipped);
        foreach (var problem in skipped) Log.BadPublishedKey(_logger, problem);
        if (raw != _lastRaw)
        {
            _lastRaw = raw;
            _setChanged = true;
        }
        return set;
    }

    /// <summary>True (once) when the published set changed since the last call (a rotation here or elsewhere): the caller re-checks long-lived tokens.</summary>
    public bool TakeSetChanged() => Interlocked.Exchange(ref _setChanged, false);

    /// <summary>Whether <paramref name="kid"/> is one of this control plane's own keys (its private key is on this disk, or was).</summary>
    public bool IsOwn(string kid) => _own.Contains(kid);
}
