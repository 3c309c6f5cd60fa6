using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace VirtualCluster.Membership.Consul.Tests.Fake;

// Sessions, agent services with TTL checks, and health.
public sealed partial class FakeConsulServer
{
    // Consul's TTL is a lower bound: its servers invalidate a session 2 × TTL after the last renewal (session_ttl.go).
    private const double SessionTtlMultiplier = 2;

    private sealed record Session(string Id, string Name, TimeSpan Ttl, string Behavior, TimeSpan LockDelay, long CreateIndex, DateTime ExpiresAt);

    private sealed record Service(string Id, string Name, string Address, Dictionary<string, string> Meta, string CheckId, string CheckName,
        TimeSpan Ttl, TimeSpan DeregisterAfter, string Status, DateTime LastPass, DateTime? CriticalSince, long CreateIndex, long ModifyIndex);

    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Service> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _serviceTombstones = new(StringComparer.Ordinal);

    /// <summary>Session TTLs as the client asked for them, for assertions.</summary>
    public List<string> SessionTtls { get; } = [];

    private static object Json(Session s) => new
    {
        ID = s.Id, s.Name, TTL = $"{s.Ttl.TotalSeconds}s", s.Behavior, LockDelay = s.LockDelay.Ticks * 100, s.CreateIndex, ModifyIndex = s.CreateIndex,
    };

    private void MapSessions(WebApplication app)
    {
        app.MapPut("/v1/session/create", async (HttpContext context) =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            var root = document.RootElement;
            var ttlText = root.TryGetProperty("TTL", out var t) ? t.GetString() ?? "" : "";
            lock (_lock) SessionTtls.Add(ttlText);
            var ttl = ttlText.Length == 0 ? TimeSpan.Zero : ParseDuration(ttlText);
            if (ttlText.Length > 0 && (ttl < MinimumSessionTtl || ttl > TimeSpan.FromDays(1)))
                return Results.Text($"Invalid Session TTL '{ttl.TotalSeconds}s', must be between [{MinimumSessionTtl.TotalSeconds}s=24h0m0s]", statusCode: 400);
            var behavior = root.TryGetProperty("Behavior", out var b) ? b.GetString() ?? "release" : "release";
            if (behavior is not ("release" or "delete")) return Results.Text($"Invalid Behavior setting '{behavior}'", statusCode: 400);
            var lockDelay = root.TryGetProperty("LockDelay", out var d) ? ParseDuration(d.GetString()!) : TimeSpan.FromSeconds(15);
            lock (_lock)
            {
                var session = new Session(Guid.NewGuid().ToString(), root.TryGetProperty("Name", out var n) ? n.GetString() ?? "" : "",
                    ttl, behavior, lockDelay, NextIndex(), ttl == TimeSpan.Zero ? DateTime.MaxValue : DateTime.UtcNow + SessionTtlMultiplier * ttl);
                _sessions[session.Id] = session;
                return Results.Json(new { ID = session.Id });
            }
        });
        app.MapPut("/v1/session/renew/{id}", (string id) =>
        {
            lock (_lock)
            {
                if (!_sessions.TryGetValue(id, out var session)) return Results.Text($"Session id '{id}' not found", statusCode: 404);
                _sessions[id] = session = session with { ExpiresAt = DateTime.UtcNow + SessionTtlMultiplier * session.Ttl };
                return Results.Json(new[] { Json(session) });
            }
        });
        app.MapPut("/v1/session/destroy/{id}", (string id) =>
        {
            lock (_lock)
            {
                Invalidate(id);
                return Results.Json(true);
            }
        });
        app.MapGet("/v1/session/info/{id}", (HttpContext context, string id) =>
            BlockingAsync(context, () => (_sessions.TryGetValue(id, out var s) ? new[] { Json(s) } : [], _index, true)));
    }

    /// <summary>Ends a session: its locks are deleted or released, and each lock waits out the lock delay.</summary>
    private void Invalidate(string id)
    {
        if (!_sessions.Remove(id, out var session)) return;
        var held = _kv.Values.Where(e => e.Session == id).Select(e => e.Key).ToList();
        var index = NextIndex();
        foreach (var key in held)
        {
            _lockDelays[key] = DateTime.UtcNow + session.LockDelay;
            if (session.Behavior == "delete") Delete([key], index);
            else _kv[key] = _kv[key] with { Session = null, ModifyIndex = index };
        }
    }

    private void ExpireSessions()
    {
        foreach (var session in _sessions.Values.Where(s => s.ExpiresAt <= DateTime.UtcNow).ToList()) Invalidate(session.Id);
    }

    private void MapAgent(WebApplication app)
    {
        app.MapPut("/v1/agent/service/register", async (HttpContext context) =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            var root = document.RootElement;
            var check = root.GetProperty("Check");
            var meta = root.TryGetProperty("Meta", out var m) ? m.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "") : [];
            if (meta.Keys.Any(k => k.Length > 128 || k.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')) || meta.Count > 64)
                return Results.Text("Invalid service Meta", statusCode: 400);
            var id = root.GetProperty("ID").GetString()!;
            lock (_lock)
            {
                var index = NextIndex();
                _services.TryGetValue(id, out var existing);
                _services[id] = new Service(id, root.GetProperty("Name").GetString()!, root.GetProperty("Address").GetString() ?? "", meta,
                    check.GetProperty("CheckID").GetString()!, check.GetProperty("Name").GetString() ?? "",
                    ParseDuration(check.GetProperty("TTL").GetString()!), ParseDuration(check.GetProperty("DeregisterCriticalServiceAfter").GetString()!),
                    check.TryGetProperty("Status", out var status) ? status.GetString()! : "critical", DateTime.UtcNow, null, existing?.CreateIndex ?? index, index);
            }
            return Results.Ok();
        });
        app.MapPut("/v1/agent/service/deregister/{id}", (string id) =>
        {
            lock (_lock)
            {
                if (!_services.Remove(id, out var removed)) return Results.Text($"Unknown service ID \"{id}\"", statusCode: 404);
                _serviceTombstones[removed.Name] = NextIndex();
                return Results.Ok();
            }
        });
        app.MapPut("/v1/agent/check/pass/{id}", (string id) => SetCheck(id, "passing"));
        app.MapPut("/v1/agent/check/update/{id}", async (HttpContext context, string id) =>
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body);
            return SetCheck(id, document.RootElement.GetProperty("Status").GetString()!);
        });
        app.MapGet("/v1/agent/checks", () =>
        {
            lock (_lock)
                return Results.Json(_services.Values.ToDictionary(s => s.CheckId,
                    s => new { CheckID = s.CheckId, Name = s.CheckName, s.Status, ServiceID = s.Id, ServiceName = s.Name, Output = "" }));
        });
        app.MapGet("/v1/health/service/{name}", (HttpContext context, string name) => BlockingAsync(context, () =>
        {
            var instances = _services.Values.Where(s => s.Name == name).OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
            if (context.Request.Query.ContainsKey("passing")) instances = instances.Where(s => s.Status == "passing").ToList();
            var index = Math.Max(instances.Select(s => s.ModifyIndex).DefaultIfEmpty(0).Max(), _serviceTombstones.GetValueOrDefault(name));
            object entries = instances.Select(s => new
            {
                Node = new { Node = "fake-node", Address = "127.0.0.1" },
                Service = new { ID = s.Id, Service = s.Name, s.Address, s.Meta, s.CreateIndex, s.ModifyIndex },
                Checks = new[]
                {
                    new { CheckID = "serfHealth", Name = "Serf Health Status", Status = "passing", ServiceID = "", Output = "" },
                    new { CheckID = s.CheckId, Name = s.CheckName, s.Status, ServiceID = s.Id, Output = "" },
                },
            }).ToList();
            return (entries, index, true);
        }));
    }

    private IResult SetCheck(string checkId, string status)
    {
        lock (_lock)
        {
            var service = _services.Values.FirstOrDefault(s => s.CheckId == checkId);
            if (service is null) return Results.Text($"Unknown check ID \"{checkId}\"", statusCode: 404);
            var changed = service.Status != status;
            _services[service.Id] = service with
            {
                Status = status, LastPass = DateTime.UtcNow, CriticalSince = status == "critical" ? service.CriticalSince ?? DateTime.UtcNow : null,
                ModifyIndex = changed ? NextIndex() : service.ModifyIndex,
            };
            return Results.Ok();
        }
    }

    private void ExpireChecks()
    {
        foreach (var service in _services.Values.ToList())
        {
            if (service.Status != "critical" && DateTime.UtcNow - service.LastPass > service.Ttl)
                _services[service.Id] = service with { Status = "critical", CriticalSince = DateTime.UtcNow, ModifyIndex = NextIndex() };
            else if (service.CriticalSince is { } since && DateTime.UtcNow - since > service.DeregisterAfter)
            {
                _services.Remove(service.Id);
                _serviceTombstones[service.Name] = NextIndex();
            }
        }
    }
}
