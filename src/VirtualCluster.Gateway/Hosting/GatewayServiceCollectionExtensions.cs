using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Api;
using VirtualCluster.Routing;
using VirtualCluster.Routing.PeerLinks;
using VirtualCluster.Routing.Signaling;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Gateway;

/// <summary>Registers and maps a gateway in an ASP.NET Core app.</summary>
public static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the gateway: the route table read from the control plane, the agents' tunnel hub and the proxy. Register an
    /// <see cref="ITunnelAuthenticator"/> first to check agents' tokens in-process (a gateway beside the control plane);
    /// otherwise the control plane is asked (GET /v1/whoami).
    /// </summary>
    public static IServiceCollection AddVirtualClusterGateway(this IServiceCollection services, Action<GatewayOptions> configure)
    {
        services.AddOptions<GatewayOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.AddOptions<TunnelOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TunnelOptions>, TunnelOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpForwarder();
        // Replaces Kestrel's pool (registered by the host builder before this runs), so not TryAdd.
        services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, GatewayMemoryPoolFactory>();
        services.TryAddSingleton(sp => new ControlPlaneReader(
            new HttpClient(Security.Tls.PinnedHttp.CreateHandler(sp.GetRequiredService<IOptions<GatewayOptions>>().Value.ControlPlaneCaFingerprint)) { Timeout = TimeSpan.FromSeconds(3) },
            ControlPlaneReader.Parse(sp.GetRequiredService<IOptions<GatewayOptions>>().Value.ControlPlaneUrls)));
        services.TryAddSingleton<ITunnelAuthenticator, ControlPlaneTunnelAuthenticator>();
        services.TryAddSingleton(sp => new TunnelHub(sp.GetRequiredService<ITunnelAuthenticator>(), sp.GetRequiredService<IOptions<TunnelOptions>>().Value,
            sp.GetRequiredService<ILogger<TunnelHub>>(), sp.GetRequiredService<TimeProvider>()));
        // Peer links (data channels) first, the agents' tunnels as the fallback.
        services.AddOptions<PeerLinkOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PeerLinkOptions>, PeerLinkOptionsValidator>());
        services.TryAddSingleton<ISignalingAuthenticator>(sp => new TunnelSignalingAuthenticator(sp.GetRequiredService<ITunnelAuthenticator>()));
        services.AddVirtualClusterSignaling();
        services.TryAddSingleton<PeerLinkService>();
        services.AddHostedService(sp => sp.GetRequiredService<PeerLinkService>());
        services.TryAddSingleton<GatewayDialer>();
        services.TryAddSingleton<IStreamDialer>(sp => sp.GetRequiredService<GatewayDialer>());
        services.TryAddSingleton<ServiceRouteTable>();
        services.TryAddSingleton<IServiceRouteTable>(sp => sp.GetRequiredService<ServiceRouteTable>());
        services.TryAddSingleton<EndpointSelector>();
        services.TryAddSingleton<INodePaths>(sp => sp.GetRequiredService<GatewayDialer>());
        services.TryAddSingleton<InstanceConnector>();
        services.TryAddSingleton<ServiceCallHandler>();
        services.TryAddSingleton<GatewayMetrics>();
        services.AddOptions<BrowserDirect.BrowserDirectOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BrowserDirect.BrowserDirectOptions>, BrowserDirect.BrowserDirectOptionsValidator>());
        services.TryAddSingleton<BrowserDirect.BrowserDirectHandler>();
        // "access": "token" services: checked with the cluster's keys when the host has them (the web host), otherwise
        // with the public keys of the control plane's JWK Set (a standalone gateway holds no secret).
        services.TryAddSingleton<Access.IServiceTokenValidator>(sp => sp.GetService<VirtualCluster.Security.TokenService>() is { } tokens
            ? new Access.TokenServiceValidator(tokens)
            : ActivatorUtilities.CreateInstance<Access.JwksTokenValidator>(sp, ActivatorUtilities.CreateInstance<Access.ControlPlaneTokenValidator>(sp)));
        Access.ServiceAccessExtensions.AddServiceAccess(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IGatewayAccessCheck, Access.ServiceAccessGatewayCheck>());
        services.TryAddSingleton<RemovedNodes>();
        services.AddHostedService<ControlPlaneRouteSource>();
        // Custom domains: looked up now and then to see whether they point here (certificates are ordered only then).
        services.TryAddSingleton<Domains.DomainVerifier>();
        services.AddHostedService(sp => sp.GetRequiredService<Domains.DomainVerifier>());
        // The agent-facing certificate of the cluster CA (tunnels and signaling over TLS on the plain-http port).
        services.TryAddSingleton<AgentTls.IGatewayCertificateIssuer, AgentTls.ControlPlaneCertificateIssuer>();
        services.TryAddSingleton<AgentTls.AgentTlsCertificate>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentTls.AgentTlsCertificate>());
        return services;
    }

    /// <summary>
    /// Limits that keep one hostile client from hurting the others: small header budgets, a header timeout against
    /// slowloris, minimum data rates. Bodies are streamed (never buffered), so their size is not limited here.
    /// </summary>
    public static void ApplyGatewayLimits(KestrelServerOptions kestrel)
    {
        var limits = kestrel.Limits;
        limits.MaxRequestHeadersTotalSize = 32 * 1024;
        limits.MaxRequestHeaderCount = 100;
        limits.MaxRequestLineSize = 8 * 1024;
        limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        limits.KeepAliveTimeout = TimeSpan.FromSeconds(120);
        limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(10));
        limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(10));
        limits.MaxRequestBodySize = null;
        limits.Http2.MaxRequestHeaderFieldSize = 16 * 1024;
    }

    /// <summary>
    /// Kestrel's socket transport for a standalone gateway: a request's processing and its response's send continue
    /// on the thread that completed the socket operation, instead of each being queued once more to the thread pool.
    /// That is two thread wake-ups less per proxied request, which on a small or virtual machine is a large part of
    /// the gateway's CPU per request (docs/benchmarks.md, Gateway). Safe because nothing on the gateway's request path
    /// blocks a thread (the proxy, the tunnel hub and signaling are asynchronous throughout); a host that runs other,
    /// possibly blocking, endpoints in the same Kestrel (the web host) should leave it off.
    /// </summary>
    public static void ApplyGatewayTransport(Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions transport)
    {
        transport.UnsafePreferInlineScheduling = true;
    }

    /// <summary>Proxies requests for <c>&lt;service&gt;.&lt;domain&gt;</c>; put it first in the pipeline. Other hosts go on to the app.</summary>
    public static IApplicationBuilder UseVirtualClusterGateway(this IApplicationBuilder app)
    {
        // The browser-direct signaling socket is the one WebSocket on a service's host the gateway accepts itself.
        app.UseWhen(c => c.Request.Path.StartsWithSegments(BrowserDirect.BrowserDirectPaths.Signal, StringComparison.Ordinal),
            b => b.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) }));
        app.UseMiddleware<GatewayProxyMiddleware>();
        // The agents' endpoints take TLS only (unless AllowPlainAgents), and log the protocol of each connection.
        app.UseMiddleware<AgentTls.AgentTransportMiddleware>();
        if (app.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value.AllowPlainAgents)
            AgentTls.AgentTransportMiddleware.LogPlainAllowed(app.ApplicationServices.GetRequiredService<ILogger<AgentTls.AgentTransportMiddleware>>());
        // Only requests to the gateway itself get here; the proxy forwards WebSocket upgrades itself.
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });
        return app;
    }

    /// <summary>
    /// Maps the gateway's own endpoints: the agents' tunnel (<c>/v1/tunnel</c>), the signaling hub
    /// (<c>/v1/signaling</c>), <c>/v1/gateway/routes</c> and <c>/v1/gateway/links</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapVirtualClusterGatewayEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // Streams agents open towards the gateway: their instances' calls to other services.
        var services = endpoints.ServiceProvider;
        services.GetRequiredService<TunnelHub>().AcceptStreams ??= services.GetRequiredService<ServiceCallHandler>().AcceptAsync;
        endpoints.Map(TunnelClient.Path, (HttpContext context, TunnelHub hub) => hub.AcceptAsync(context));
        endpoints.MapVirtualClusterSignaling();
        endpoints.MapGet("/v1/gateway/links", (GatewayDialer dialer, PeerLinkService links, IServiceRouteTable table) =>
            Results.Json(GatewayLinks.Report(dialer, links, table), VirtualClusterJson.Options));
        // Which names have a certificate (ACME or the fallback is not listed), for operators and tests.
        // "source" says where each came from: ordered by this gateway, taken from the cluster store, or the local files.
        endpoints.MapGet("/v1/gateway/certificates", (IServiceProvider services) => Results.Json(
            services.GetService<Tls.GatewayCertificates>() is { } certificates
                ? certificates.Names.Select(n => certificates.Get(n)!).Select(e => new { name = e.Leaf.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.DnsName, false), notAfter = e.Leaf.NotAfter.ToUniversalTime(), issuer = e.Leaf.Issuer, source = e.Source }).ToArray()
                : [], VirtualClusterJson.Options));
        // The custom domains this gateway checked, and whether each points at it.
        endpoints.MapGet("/v1/gateway/domains", (Domains.DomainVerifier verifier, GatewayMetrics metrics) => Results.Json(new
        {
            domains = verifier.Results.Select(r => new { name = r.Key, verified = r.Value.Verified, problem = r.Value.Problem }).ToArray(),
            acmeOrders = metrics.Orders,
        }, VirtualClusterJson.Options));
        endpoints.MapGet("/v1/gateway/routes", (IServiceRouteTable table, TunnelHub hub, IOptions<GatewayOptions> options, GatewayMetrics metrics) => Results.Json(new
        {
            domain = options.Value.Domain,
            refreshedAt = table.RefreshedAt,
            tunnels = hub.Nodes,
            serviceCalls = metrics.ServiceCalls,
            services = table.All.Select(r => new
            {
                name = r.Name, endpoints = r.Endpoints, failoverUnderway = r.FailoverUnderway, state = r.State,
                // requests the proxy answered for it since the gateway started; the browser-direct path adds none
                proxiedRequests = metrics.ProxiedFor(r.Name), browserDirect = r.Spec.BrowserDirect,
            }),
        }, VirtualClusterJson.Options));
        return endpoints;
    }
}
