using VirtualCluster.ControlPlane;
using VirtualCluster.Gateway;
using VirtualCluster.Gateway.Access;
using VirtualCluster.Gateway.AgentTls;
using VirtualCluster.Routing.Tunnel;
using VirtualCluster.Security;
using VirtualCluster.Dashboard;

// The control plane as an ASP.NET Core web host, configured through appsettings.json or environment
// variables (VirtualCluster__DataDirectory=...). Embed the same calls in any ASP.NET Core app.
// It is also a gateway: http://<service>.<VirtualCluster:Gateway:Domain>:<port>/ reaches each service (agents dial
// this host with --gateway); every other host name gets the API.
var builder = WebApplication.CreateBuilder(args);
builder.WebHost.ConfigureKestrel(k =>
{
    GatewayServiceCollectionExtensions.ApplyGatewayLimits(k);
    k.Limits.MaxRequestBodySize = 1 << 20; // the API's own limit; proxied bodies are streamed and not limited by it
});
builder.Services.AddVirtualClusterControlPlane(options => builder.Configuration.GetSection("VirtualCluster").Bind(options));
// Token key rotation: VirtualCluster:TokenKeys:RotateEvery (e.g. "30.00:00:00"), checked at start.
builder.Services.Configure<VirtualCluster.ControlPlane.Keys.TokenKeyOptions>(builder.Configuration.GetSection("VirtualCluster:TokenKeys"));
// Alerts: VirtualCluster:Alerts:Webhooks / :Alertmanagers (URL lists), VirtualCluster:AlertRules:EvaluationInterval etc.
builder.Services.Configure<VirtualCluster.Monitoring.Alerts.AlertNotifierOptions>(builder.Configuration.GetSection("VirtualCluster:Alerts"));
builder.Services.Configure<VirtualCluster.ControlPlane.Alerts.AlertOptions>(builder.Configuration.GetSection("VirtualCluster:AlertRules"));
// OTLP export beside /metrics: VirtualCluster:Otlp:Endpoint (e.g. http://collector:4318), :Interval, :ServiceName.
if (builder.Configuration.GetSection("VirtualCluster:Otlp")["Endpoint"] is { Length: > 0 })
    VirtualCluster.Monitoring.Otlp.OtlpMetricsServiceCollectionExtensions.AddVirtualClusterOtlpMetrics(builder.Services,
        o => builder.Configuration.GetSection("VirtualCluster:Otlp").Bind(o));
// Stable URLs: VirtualCluster:Urls:GatewayUrl / :ClusterDomain in appsettings, or --gateway-url on the command line.
builder.Services.Configure<ServiceUrlOptions>(builder.Configuration.GetSection("VirtualCluster:Urls"));
if (builder.Configuration["gateway-url"] is { Length: > 0 } gatewayUrl) builder.Services.Configure<ServiceUrlOptions>(o => o.GatewayUrl = gatewayUrl);
// The cluster's STUN/TURN servers for peer links (GET /v1/p2p/config): VirtualCluster:P2P in appsettings, or
// --ice-server stun:...[,turn:...] --turn-user u --turn-password p on the command line.
builder.Services.Configure<P2POptions>(builder.Configuration.GetSection("VirtualCluster:P2P"));
if (builder.Configuration["ice-server"] is { Length: > 0 } iceServers)
    builder.Services.Configure<P2POptions>(o =>
    {
        o.IceServers = [.. iceServers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        o.TurnUsername = builder.Configuration["turn-user"] ?? o.TurnUsername;
        o.TurnPassword = builder.Configuration["turn-password"] ?? o.TurnPassword;
    });
VirtualCluster.Host.Web.WebHostMembership.Add(builder); // --membership embedded|etcd|consul
// In-process, agents' tunnel and signaling tokens are checked with the cluster's own signing key.
builder.Services.AddSingleton<ITunnelAuthenticator>(sp => new SigningKeyTunnelAuthenticator(sp.GetRequiredService<TokenService>()));
// Urls: https ones get a certificate of the cluster CA (no setup); without any, the API is https on 5001 and the
// gateway's stable URLs http on 5000.
var urls = builder.Configuration["Urls"] is { Length: > 0 } configured ? configured : VirtualCluster.Host.Web.WebHostUrls.Default;
var ownUrl = urls.Split(';')[0]
    .Replace("://0.0.0.0", "://127.0.0.1").Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1").Replace("://[::]", "://127.0.0.1");
// --p2p on|off: peer links to the agents (data channels), with their tunnels as the fallback.
bool? peerLinks = builder.Configuration["p2p"]?.Trim().ToLowerInvariant() switch
{
    null or "" => null,
    "on" or "true" => true,
    "off" or "false" => false,
    var other => Fail($"--p2p must be on or off (got \"{other}\"), e.g. --p2p off to reach agents only through their tunnels"),
};
builder.Services.AddVirtualClusterGateway(options =>
{
    options.ControlPlaneUrls = ownUrl; // this same process
    builder.Configuration.GetSection("VirtualCluster:Gateway").Bind(options);
    if (peerLinks is { } on) options.PeerLinks = on;
});
// The gateway reads the route table through this host's own API, with a token it mints for itself at start.
builder.Services.AddOptions<GatewayOptions>().PostConfigure<TokenService>((o, tokens) => o.ControlPlaneToken ??= tokens.Issue("gateway", TokenRoles.Admin));
// ... over TLS when its own URL is https: it trusts this host's cluster CA.
builder.Services.AddOptions<GatewayOptions>().PostConfigure<VirtualCluster.ControlPlane.Tls.ClusterTls>((o, tls) => o.ControlPlaneCaFingerprint ??= tls.Fingerprint);
builder.Services.AddServiceAccess(); // "access": "token" services, checked with the control plane's TokenService
// Each https URL is served with a certificate of the cluster CA (as the console control plane's --listen https://),
// each plain-http URL also takes agents' TLS on the same port (tunnels and signaling; browsers and the API stay plain
// there). Only for URLs Kestrel can bind as endpoints (an IP address, localhost or *); others are left to Kestrel.
var endpoints = VirtualCluster.Host.Web.WebHostUrls.Parse(urls);
if (endpoints is not null)
    builder.WebHost.ConfigureKestrel(k =>
    {
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Https) VirtualCluster.ControlPlane.Tls.ControlPlaneKestrel.ListenControlPlane(k, endpoint.Url);
            else k.Listen(endpoint.Address, l => l.UseGatewayAgentTls(k.ApplicationServices.GetRequiredService<VirtualCluster.Gateway.AgentTls.AgentTlsCertificate>()));
        }
    });
var app = builder.Build();
// The API answers on every URL; on a plain-http one that is not loopback, tokens cross the network in clear.
foreach (var plain in (endpoints ?? []).Where(e => !e.Https && !System.Net.IPAddress.IsLoopback(e.Address.Address)))
    app.Logger.LogWarning("The API is also served over plain http on {Url}: tokens sent there cross the network in clear. Give the API an https:// URL (a certificate of the cluster CA, no setup) and keep http for the gateway's stable URLs", plain.Url);
app.UseVirtualClusterGateway();
app.MapGet("/", () => Results.Redirect("/ui/"));
app.MapVirtualClusterApi();
app.MapVirtualClusterDashboard();
app.MapVirtualClusterGatewayEndpoints();
app.Run();

// A bad flag ends the host with a message that says how to fix it, not a stack trace.
static bool Fail(string message)
{
    Console.Error.WriteLine("error: " + message);
    Environment.Exit(2);
    return false;
}
