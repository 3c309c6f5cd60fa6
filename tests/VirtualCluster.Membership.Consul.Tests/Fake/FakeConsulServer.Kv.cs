using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace VirtualCluster.Membership.Consul.Tests.Fake;

// KV and transactions.
public sealed partial class FakeConsulServer
{
    private sealed record KvEntry(string Key, byte[] Value, long CreateIndex, long ModifyIndex, long LockIndex, ulong Flags, string? Session);

    private Dictionary<string, KvEntry> _kv = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _tombstones = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _lockDelays = new(StringComparer.Ordinal);

    private static object Json(KvEntry e, bool withValue = true) => new
    {
        e.Key,
        Value = withValue ? Convert.ToBase64String(e.Value) : null,
        e.CreateIndex,
        e.ModifyIndex,
        e.LockIndex,
        e.Flags,
        Session = e.Session ?? "",
    };

    /// <summary>Consul's index for a key or prefix: newest change, deletions included.</summary>
    private long KeyIndex(string key, bool prefix)
    {
        var index = 0L;
        foreach (var e in _kv.Values)
            if (prefix ? e.Key.StartsWith(key, StringComparison.Ordinal) : e.Key == key) index = Math.Max(index, e.ModifyIndex);
        foreach (var (k, i) in _tombstones)
            if (prefix ? k.StartsWith(key, StringComparison.Ordinal) : k == key) index = Math.Max(index, i);
        return index;
    }

    private void MapKv(WebApplication app)
    {
        app.MapGet("/v1/kv/{**key}", (HttpContext context, string? key) =>
        {
            key ??= "";
            var recurse = context.Request.Query.ContainsKey("recurse") || context.Request.Query.ContainsKey("keys");
            return BlockingAsync(context, () =>
            {
                var matches = _kv.Values.Where(e => recurse ? e.Key.StartsWith(key, StringComparison.Ordinal) : e.Key == key)
                    .OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
                object value = context.Request.Query.ContainsKey("keys") ? matches.Select(e => e.Key).ToList() : matches.Select(e => Json(e)).ToList();
                return (value, KeyIndex(key, recurse), matches.Count > 0);
            });
        });

        app.MapPut("/v1/kv/{**key}", async (HttpContext context, string key) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var query = context.Request.Query;
            lock (_lock)
            {
                _kv.TryGetValue(key, out var existing);
                if (query.TryGetValue("acquire", out var acquire))
                {
                    if (!_sessions.ContainsKey(acquire!)) return Results.Text($"invalid session \"{acquire}\"", statusCode: 500);
                    if (existing?.Session is { } holder && holder != acquire) return Results.Json(false);
                    if (existing?.Session is null && _lockDelays.TryGetValue(key, out var until) && until > DateTime.UtcNow) return Results.Json(false);
                    var index = NextIndex();
                    _kv[key] = new KvEntry(key, body.ToArray(), existing?.CreateIndex ?? index, index,
                        (existing?.LockIndex ?? 0) + (existing?.Session == acquire ? 0 : 1), 0, acquire);
                    return Results.Json(true);
                }
                if (query.TryGetValue("release", out var release))
                {
                    if (existing is null || existing.Session != release) return Results.Json(false);
                    _kv[key] = existing with { Session = null, ModifyIndex = NextIndex() };
                    return Results.Json(true);
                }
                if (query.TryGetValue("cas", out var cas) && long.Parse(cas!, CultureInfo.InvariantCulture) != (existing?.ModifyIndex ?? 0))
                    return Results.Json(false);
                var next = NextIndex();
                _kv[key] = new KvEntry(key, body.ToArray(), existing?.CreateIndex ?? next, next, existing?.LockIndex ?? 0, 0, existing?.Session);
                return Results.Json(true);
            }
        });

        app.MapDelete("/v1/kv/{**key}", (HttpContext context, string key) =>
        {
            lock (_lock)
            {
                var keys = context.Request.Query.ContainsKey("recurse")
                    ? _kv.Keys.Where(k => k.StartsWith(key, StringComparison.Ordinal)).ToList()
                    : _kv.ContainsKey(key) ? [key] : [];
                if (keys.Count > 0) Delete(keys, NextIndex());
                return Results.Json(true);
            }
        });
    }

    private void Delete(IEnumerable<string> keys, long index)
    {
        foreach (var key in keys.ToList())
        {
            if (_kv.Remove(key)) _tombstones[key] = index;
        }
    }

    private void MapTxn(WebApplication app) => app.MapPut("/v1/txn", async (HttpContext context) =>
    {
        using var document = await JsonDocument.ParseAsync(context.Request.Body);
        var ops = document.RootElement.EnumerateArray().Select(o => o.GetProperty("KV")).ToList();
        if (ops.Count > 64) return Results.Text("Transaction contains too many operations (64 max)", statusCode: 413);
        lock (_lock)
        {
            var saved = new Dictionary<string, KvEntry>(_kv, StringComparer.Ordinal);
            var index = _index + 1;
            var results = new List<object>();
            var errors = new List<object>();
            var wrote = false;
            for (var i = 0; i < ops.Count && errors.Count == 0; i++)
            {
                var op = ops[i];
                var verb = op.GetProperty("Verb").GetString()!;
                var key = op.GetProperty("Key").GetString()!;
                var value = op.TryGetProperty("Value", out var v) && v.ValueKind == JsonValueKind.String ? Convert.FromBase64String(v.GetString()!) : [];
                var opIndex = op.TryGetProperty("Index", out var ix) ? ix.GetInt64() : 0;
                var session = op.TryGetProperty("Session", out var s) ? s.GetString() : null;
                _kv.TryGetValue(key, out var existing);
                string? error = null;
                switch (verb)
                {
                    case "set":
                        _kv[key] = new KvEntry(key, value, existing?.CreateIndex ?? index, index, existing?.LockIndex ?? 0, 0, existing?.Session);
                        results.Add(new { KV = Json(_kv[key], false) });
                        wrote = true;
                        break;
                    case "cas":
                        if ((existing?.ModifyIndex ?? 0) != opIndex) error = $"failed to set key \"{key}\", index is stale";
                        else
                        {
                            _kv[key] = new KvEntry(key, value, existing?.CreateIndex ?? index, index, existing?.LockIndex ?? 0, 0, existing?.Session);
                            results.Add(new { KV = Json(_kv[key], false) });
                            wrote = true;
                        }
                        break;
                    case "lock":
                        if (session is null || !_sessions.ContainsKey(session)) error = $"failed to lock key \"{key}\": invalid session \"{session}\"";
                        else if (existing?.Session is { } holder && holder != session) error = $"failed to lock key \"{key}\", lock is already held";
                        else if (existing?.Session is null && _lockDelays.TryGetValue(key, out var until) && until > DateTime.UtcNow)
                            error = $"failed to lock key \"{key}\" due to lock delay";
                        else
                        {
                            _kv[key] = new KvEntry(key, value, existing?.CreateIndex ?? index, index,
                                (existing?.LockIndex ?? 0) + (existing?.Session == session ? 0 : 1), 0, session);
                            results.Add(new { KV = Json(_kv[key], false) });
                            wrote = true;
                        }
                        break;
                    case "unlock":
                        if (existing is null || existing.Session != session) error = $"failed to unlock key \"{key}\", lock isn't held, or is held by another session";
                        else
                        {
                            _kv[key] = existing with { Value = value, Session = null, ModifyIndex = index };
                            results.Add(new { KV = Json(_kv[key], false) });
                            wrote = true;
                        }
                        break;
                    case "get":
                        if (existing is null) error = $"key \"{key}\" doesn't exist";
                        else results.Add(new { KV = Json(existing) });
                        break;
                    case "check-index":
                        if (existing is null || existing.ModifyIndex != opIndex) error = $"current modify index {existing?.ModifyIndex ?? 0} != {opIndex}";
                        break;
                    case "check-not-exists":
                        if (existing is not null) error = $"key \"{key}\" exists";
                        break;
                    case "check-session":
                        if (existing?.Session != session) error = $"key \"{key}\" is not locked by session \"{session}\"";
                        break;
                    case "delete":
                        if (existing is not null) { _kv.Remove(key); wrote = true; }
                        break;
                    case "delete-cas":
                        if (existing is null || existing.ModifyIndex != opIndex) error = $"failed to delete key \"{key}\", index is stale";
                        else { _kv.Remove(key); wrote = true; }
                        break;
                    case "delete-tree":
                        foreach (var k in _kv.Keys.Where(k => k.StartsWith(key, StringComparison.Ordinal)).ToList()) { _kv.Remove(k); wrote = true; }
                        break;
                    default:
                        error = $"unknown KV verb \"{verb}\"";
                        break;
                }
                if (error is not null) errors.Add(new { OpIndex = i, What = error });
            }
            if (errors.Count > 0)
            {
                _kv = saved;
                return Results.Json(new { Results = (object?)null, Errors = errors }, statusCode: 409);
            }
            if (wrote)
            {
                foreach (var key in saved.Keys.Where(k => !_kv.ContainsKey(k))) _tombstones[key] = index;
                NextIndex();
            }
            return Results.Json(new { Results = results, Errors = (object?)null });
        }
    });

    /// <summary>The raw value of a key, for assertions.</summary>
    public string? ValueOf(string key)
    {
        lock (_lock) return _kv.TryGetValue(key, out var e) ? Encoding.UTF8.GetString(e.Value) : null;
    }
}
