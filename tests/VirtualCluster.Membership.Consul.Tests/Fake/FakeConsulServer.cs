using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.Membership.Consul.Tests.Fake;

/// <summary>
/// An in-process stand-in for the parts of Consul's HTTP API the provider uses: KV (blocking queries, recurse,
/// keys, cas, acquire/release), /v1/txn, sessions with TTL expiry, lock delay and delete/release behaviour, agent
/// services with TTL checks, and /v1/health/service. It follows Consul's documented behaviour and validation
/// (session TTL 10 s to 24 h unless lowered for tests), one raft-like index for every write, and records every
/// request so tests can check what the client sent. It is not Consul: passing against it proves our client
/// speaks the API as documented, not that a real Consul agrees.
/// </summary>
public sealed partial class FakeConsulServer : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly List<string> _requests = [];
    private WebApplication? _app;
    private Timer? _ticker;
    private long _index = 1;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Shortest session TTL accepted (Consul: 10 s).</summary>
    public TimeSpan MinimumSessionTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Base URL, e.g. http://127.0.0.1:12345.</summary>
    public string Address { get; private set; } = "";

    /// <summary>Every request so far, as "METHOD /path?query".</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_lock) return _requests.ToList();
        }
    }

    /// <summary>Tokens seen in X-Consul-Token headers.</summary>
    public HashSet<string> Tokens { get; } = [];

    public static async Task<FakeConsulServer> StartAsync(TimeSpan? minimumSessionTtl = null)
    {
        var server = new FakeConsulServer { MinimumSessionTtl = minimumSessionTtl ?? TimeSpan.FromSeconds(10) };
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        // Consul's JSON uses Go's field names (PascalCase), not ASP.NET Core's camelCase default.
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = null);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            lock (server._lock)
            {
                server._requests.Add($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}");
                if (context.Request.Headers.TryGetValue("X-Consul-Token", out var token)) server.Tokens.Add(token.ToString());
            }
            await next(context);
        });
        server.MapKv(app);
        server.MapTxn(app);
        server.MapSessions(app);
        server.MapAgent(app);
        await app.StartAsync();
        server._app = app;
        server.Address = app.Urls.First();
        server._ticker = new Timer(_ => server.Tick(), null, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50));
        return server;
    }

    /// <summary>Advances the index for a write and wakes blocking queries. Call under the lock.</summary>
    private long NextIndex()
    {
        _index++;
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        return _index;
    }

    /// <summary>
    /// Answers a (possibly blocking) read: with ?index=N it waits until the result's index exceeds N or the wait
    /// (default 5 min, capped at 10 min, as Consul) ends, then answers with X-Consul-Index.
    /// </summary>
    private async Task<IResult> BlockingAsync<T>(HttpContext context, Func<(T Value, long Index, bool Found)> read)
    {
        var query = context.Request.Query;
        long.TryParse(query["index"], NumberStyles.None, CultureInfo.InvariantCulture, out var after);
        var wait = query.ContainsKey("wait") ? ParseDuration(query["wait"]!) : TimeSpan.FromMinutes(5);
        var deadline = DateTime.UtcNow + (wait > TimeSpan.FromMinutes(10) ? TimeSpan.FromMinutes(10) : wait);
        while (true)
        {
            Task changed;
            (T Value, long Index, bool Found) result;
            lock (_lock)
            {
                changed = _changed.Task;
                result = read();
            }
            var index = Math.Max(1, result.Index);
            if (after == 0 || index > after || DateTime.UtcNow >= deadline)
            {
                context.Response.Headers["X-Consul-Index"] = index.ToString(CultureInfo.InvariantCulture);
                return result.Found ? Results.Json(result.Value) : Results.NotFound();
            }
            var remaining = deadline - DateTime.UtcNow;
            await Task.WhenAny(changed, Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, context.RequestAborted));
            context.RequestAborted.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Parses Go-style durations as Consul accepts them ("10s", "1500ms", "1m", "0s").</summary>
    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        var units = new (string Suffix, double Ms)[] { ("ms", 1), ("h", 3_600_000), ("m", 60_000), ("s", 1000) };
        foreach (var (suffix, ms) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                return TimeSpan.FromMilliseconds(value * ms);
        }
        throw new FormatException($"invalid duration \"{text}\"");
    }

    private void Tick()
    {
        lock (_lock)
        {
            ExpireSessions();
            ExpireChecks();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ticker is not null) await _ticker.DisposeAsync();
        if (_app is not null) await _app.DisposeAsync();
    }
}
