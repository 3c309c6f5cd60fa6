using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.Security;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>
/// A real control plane on Kestrel (loopback, a free port, its own data directory) with one joined node, and the
/// log lines it writes, for the attack table and the role tests.
/// </summary>
public sealed class ApiSecurityHost : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("vc-security-api-").FullName;
    private WebApplication _app = null!;

    public Uri BaseAddress { get; private set; } = null!;
    public string AdminToken { get; private set; } = "";
    public string JoinToken { get; private set; } = "";
    public string MachineToken { get; private set; } = "";
    public string NodeId { get; private set; } = "";
    public ConcurrentQueue<string> Logs { get; } = new();
    public IServiceProvider Services => _app.Services;

    /// <param name="time">The control plane's clock; a fake one lets a test move time instead of waiting for it.</param>
    /// <param name="tls">Serve https with the cluster CA's certificate (clients from <see cref="Client"/> pin that CA).</param>
    public static async Task<ApiSecurityHost> StartAsync(Action<ControlPlaneOptions>? configure = null, TimeProvider? time = null, bool tls = false)
    {
        var host = new ApiSecurityHost();
        await host.InitializeAsync(configure, time, tls);
        return host;
    }

    /// <summary>The data directory (ca.crt, token files, state.db).</summary>
    public string DataDirectory => _directory;

    private async Task InitializeAsync(Action<ControlPlaneOptions>? configure, TimeProvider? time, bool tls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        // As the hosts listen: the connection logging, and TLS with the cluster CA when asked for.
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.ListenControlPlane(new Uri(tls ? "https://127.0.0.1:0" : "http://127.0.0.1:0")));
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new QueueLoggerProvider(Logs));
        if (time is not null) builder.Services.AddSingleton(time);
        builder.Services.AddVirtualClusterControlPlane(o =>
        {
            o.DataDirectory = _directory;
            configure?.Invoke(o);
        });
        _app = builder.Build();
        _app.MapVirtualClusterApi();
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        AdminToken = File.ReadAllText(Path.Combine(_directory, ClusterCredentials.AdminTokenFile)).Trim();
        JoinToken = File.ReadAllText(Path.Combine(_directory, ClusterCredentials.JoinTokenFile)).Trim();
        using var admin = Client(AdminToken);
        var join = new JoinRequest(JoinToken, "node-1", "127.0.0.1", new Resources(4000, 4L << 30, 10L << 30), ["process"], new PortRange(21000, 21099), null);
        var joined = await (await admin.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options)).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JoinResponse>(VirtualClusterJson.Options);
        NodeId = joined!.NodeId;
        MachineToken = joined.Token;
    }

    /// <summary>A client that sends <paramref name="token"/> (none when null).</summary>
    public HttpClient Client(string? token)
    {
        var client = BaseAddress.Scheme == "https"
            ? new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = PinnedCaValidator.ForCertificate(Services.GetRequiredService<ClusterTls>().Ca.Certificate).Validate },
            }) { BaseAddress = BaseAddress }
            : new HttpClient { BaseAddress = BaseAddress };
        if (token is not null) client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return client;
    }

    /// <summary>Adds a user as the admin and returns a token for it with <paramref name="role"/> (default the user's role).</summary>
    public async Task<string> AddUserWithTokenAsync(string name, string userRole, string? tokenRole = null, string ttl = "01:00:00")
    {
        using var admin = Client(AdminToken);
        (await admin.PostAsync("v1/users", Json($$"""{"name":"{{name}}","role":"{{userRole}}"}"""))).EnsureSuccessStatusCode();
        return await TokenForAsync(name, tokenRole, ttl);
    }

    public async Task<string> TokenForAsync(string name, string? role = null, string ttl = "01:00:00")
    {
        using var admin = Client(AdminToken);
        var roleJson = role is null ? "null" : $"\"{role}\"";
        var response = await admin.PostAsync($"v1/users/{name}/tokens", Json($$"""{"role":{{roleJson}},"ttl":"{{ttl}}"}"""));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<UserTokenResponse>(VirtualClusterJson.Options))!.Token;
    }

    /// <summary>A token service with this cluster's key and audience, for forging tokens the way an insider could not.</summary>
    public TokenService Tokens => _app.Services.GetRequiredService<TokenService>();

    public ClusterCredentials Credentials => _app.Services.GetRequiredService<ClusterCredentials>();

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(categoryName, lines);
        public void Dispose() { }
    }

    private sealed class QueueLogger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
    }
}
