using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Secrets;
using VirtualCluster.Store;

namespace VirtualCluster.ControlPlane.Tls;

/// <summary>
/// What gateways share through the cluster store: their ACME account key, the certificates they obtained (private
/// keys sealed with the secrets key, as spec secrets are), a lease per name so one gateway orders it at a time, and
/// what their DNS checks found for custom domains. Every write is a compare-and-set on one setting, so concurrent
/// gateways (and control planes of an HA cluster) never lose each other's changes.
/// </summary>
internal sealed class GatewayStore(IClusterStore store, TimeProvider time)
{
    private const string CertificatePrefix = "gateway-certificate/";
    private const string LeasePrefix = "gateway-lease/";
    private const string AccountKey = "gateway-acme-account";
    private const string NamesKey = "gateway-names";
    private const string KeyScope = "gateway-certificate";
    private static readonly TimeSpan NamesCacheFor = TimeSpan.FromSeconds(1);
    /// <summary>A "not verified" from one gateway does not undo another's "verified" younger than this (gateways may use different resolvers).</summary>
    private static readonly TimeSpan VerifiedHolds = TimeSpan.FromMinutes(10);
    /// <summary>An unchanged result is written again only when the stored one is older than this, so reports do not write every check.</summary>
    private static readonly TimeSpan RefreshCheckedAfter = TimeSpan.FromMinutes(5);
    private const int MaxNames = 10_000;

    private readonly SecretSealer _sealer = new(store);
    private (DateTimeOffset At, Dictionary<string, NameStatus> Names)? _namesCache;

    /// <summary>What is known about one name: the gateways' DNS check (custom domains) and the stored certificate's expiry.</summary>
    internal sealed record NameStatus(bool? Verified = null, DateTimeOffset? CheckedAt = null, string? Problem = null, string? Gateway = null, DateTimeOffset? NotAfter = null);

    private sealed record CertificateRecord(string ChainPem, string SealedKey, DateTimeOffset NotAfter, DateTimeOffset StoredAt);

    private sealed record LeaseRecord(string? Holder, DateTimeOffset Until);

    public async Task<StoredCertificate?> GetCertificateAsync(string name, CancellationToken ct)
    {
        if (await store.GetSettingAsync(CertificatePrefix + name, ct) is not { } raw) return null;
        var record = JsonSerializer.Deserialize<CertificateRecord>(raw, VirtualClusterJson.Options)!;
        return new StoredCertificate(name, record.ChainPem, await _sealer.OpenValueAsync(KeyScope, name, record.SealedKey, ct), record.NotAfter);
    }

    /// <summary>Checks and stores a certificate; refused (with the reason) when it is not valid for <paramref name="name"/> or an equal or newer one is stored.</summary>
    public async Task<(DateTimeOffset? NotAfter, string? Problem, bool Conflict)> PutCertificateAsync(string name, string chainPem, string keyPem, CancellationToken ct)
    {
        DateTimeOffset notAfter;
        try
        {
            using var leaf = X509Certificate2.CreateFromPem(chainPem, keyPem); // fails when the key does not match the leaf
            var names = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).ToList();
            if (!names.Contains(name, StringComparer.OrdinalIgnoreCase))
                return (null, $"the certificate is for {string.Join(", ", names.DefaultIfEmpty("no DNS name"))}, not {name}; store it under one of its names", false);
            notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException) // ArgumentException: a key that is not the leaf's
        {
            return (null, $"chainPem and privateKeyPem must be a PEM certificate chain (leaf first) and its PEM private key: {e.Message}", false);
        }
        var sealedKey = await _sealer.SealValueAsync(KeyScope, name, keyPem, ct);
        var json = JsonSerializer.Serialize(new CertificateRecord(chainPem, sealedKey, notAfter, time.GetUtcNow()), VirtualClusterJson.Options);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var raw = await store.GetSettingAsync(CertificatePrefix + name, ct);
            if (raw is not null && JsonSerializer.Deserialize<CertificateRecord>(raw, VirtualClusterJson.Options) is { } stored && stored.NotAfter >= notAfter)
                return (stored.NotAfter, $"a certificate for {name} valid until {stored.NotAfter:u} is stored already; GET it instead", true);
            if (await store.ReplaceSettingAsync(CertificatePrefix + name, raw, json, ct))
            {
                await UpdateNameAsync(name, s => s with { NotAfter = notAfter }, ct);
                return (notAfter, null, false);
            }
        }
        return (null, "the certificate changed under too many concurrent writes; try again", true);
    }

    /// <summary>Takes, renews or (with zero seconds) releases the order lease of <paramref name="name"/> for <paramref name="holder"/>.</summary>
    public async Task<OrderLease> LeaseAsync(string name, string holder, int seconds, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var now = time.GetUtcNow();
            var raw = await store.GetSettingAsync(LeasePrefix + name, ct);
            var current = raw is null ? null : JsonSerializer.Deserialize<LeaseRecord>(raw, VirtualClusterJson.Options);
            var heldByOther = current is { Holder: { } h } && h != holder && current.Until > now;
            if (heldByOther) return new OrderLease(false, current!.Holder, current.Until);
            if (seconds == 0 && current?.Holder != holder) return new OrderLease(true, null, null);
            var next = seconds == 0 ? new LeaseRecord(null, now) : new LeaseRecord(holder, now.AddSeconds(seconds));
            if (await store.ReplaceSettingAsync(LeasePrefix + name, raw, JsonSerializer.Serialize(next, VirtualClusterJson.Options), ct))
                return new OrderLease(true, next.Holder, next.Holder is null ? null : next.Until);
        }
        return new OrderLease(false, null, null);
    }

    /// <summary>The stored ACME account key, storing <paramref name="offered"/> first when there is none.</summary>
    public async Task<string> AccountKeyAsync(string offered, CancellationToken ct)
    {
        var sealedOffer = await _sealer.SealValueAsync(KeyScope, AccountKey, offered, ct);
        var stored = await store.GetOrAddSettingAsync(AccountKey, sealedOffer, ct);
        return await _sealer.OpenValueAsync(KeyScope, AccountKey, stored, ct);
    }

    /// <summary>Records one gateway's DNS checks; an unchanged result is rewritten only now and then.</summary>
    public async Task RecordChecksAsync(string gateway, IReadOnlyList<DomainCheck> checks, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        foreach (var check in checks)
            await UpdateNameAsync(check.Domain, s =>
            {
                var unchanged = s.Verified == check.Verified && s.Problem == check.Problem && s.CheckedAt is { } at && now - at < RefreshCheckedAfter;
                if (unchanged) return s;
                var othersVerified = s.Verified == true && s.Gateway != gateway && s.CheckedAt is { } when && now - when < VerifiedHolds;
                if (!check.Verified && othersVerified) return s;
                return s with { Verified = check.Verified, Problem = check.Verified ? null : check.Problem, CheckedAt = now, Gateway = gateway };
            }, ct);
    }

    /// <summary>The validity of every stored certificate (no key is opened), for the expiry alert.</summary>
    public async Task<IReadOnlyList<(string Name, DateTimeOffset NotBefore, DateTimeOffset NotAfter)>> CertificateDatesAsync(CancellationToken ct)
    {
        var dates = new List<(string, DateTimeOffset, DateTimeOffset)>();
        foreach (var (name, status) in await NamesAsync(ct))
        {
            if (status.NotAfter is null || await store.GetSettingAsync(CertificatePrefix + name, ct) is not { } raw) continue;
            try
            {
                var record = JsonSerializer.Deserialize<CertificateRecord>(raw, VirtualClusterJson.Options)!;
                using var leaf = X509Certificate2.CreateFromPem(record.ChainPem);
                dates.Add((name, new DateTimeOffset(leaf.NotBefore.ToUniversalTime()), record.NotAfter));
            }
            catch (Exception e) when (e is JsonException or CryptographicException or ArgumentException)
            {
                // A record that does not parse is not a certificate anyone serves; nothing to warn about here.
            }
        }
        return dates;
    }

    /// <summary>What is known per name (cached for a second: every GET /v1/services reads it).</summary>
    public async Task<IReadOnlyDictionary<string, NameStatus>> NamesAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_namesCache is { } cached && now - cached.At < NamesCacheFor) return cached.Names;
        var names = Parse(await store.GetSettingAsync(NamesKey, ct));
        _namesCache = (now, names);
        return names;
    }

    private async Task UpdateNameAsync(string name, Func<NameStatus, NameStatus> change, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var raw = await store.GetSettingAsync(NamesKey, ct);
            var names = Parse(raw);
            var before = names.GetValueOrDefault(name) ?? new NameStatus();
            var after = change(before);
            if (after == before && names.ContainsKey(name)) return;
            if (!names.ContainsKey(name) && names.Count >= MaxNames) return; // a bound on what hostile reports can make the store hold
            names[name] = after;
            if (await store.ReplaceSettingAsync(NamesKey, raw, JsonSerializer.Serialize(names, VirtualClusterJson.Options), ct))
            {
                _namesCache = null;
                return;
            }
        }
    }

    private static Dictionary<string, NameStatus> Parse(string? raw) => raw is null
        ? new(StringComparer.OrdinalIgnoreCase)
        : new(JsonSerializer.Deserialize<Dictionary<string, NameStatus>>(raw, VirtualClusterJson.Options)!, StringComparer.OrdinalIgnoreCase);
}
