using VirtualCluster.ControlPlane;

// The control plane as an ASP.NET Core web host, configured through appsettings.json or environment
// variables (VirtualCluster__DataDirectory=...). Embed the same two calls in any ASP.NET Core app.
var builder = WebApplication.CreateBuilder(args);
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1 << 20);
builder.Services.AddVirtualClusterControlPlane(options => builder.Configuration.GetSection("VirtualCluster").Bind(options));
// Stable URLs: VirtualCluster:Urls:GatewayUrl / :ClusterDomain in appsettings, or --gateway-url on the command line.
builder.Services.Configure<ServiceUrlOptions>(builder.Configuration.GetSection("VirtualCluster:Urls"));
if (builder.Configuration["gateway-url"] is { Length: > 0 } gatewayUrl) builder.Services.Configure<ServiceUrlOptions>(o => o.GatewayUrl = gatewayUrl);
VirtualCluster.Host.Web.WebHostMembership.Add(builder); // --membership embedded|etcd|consul
var app = builder.Build();
app.MapGet("/", () => Results.Redirect("/v1/health"));
app.MapVirtualClusterApi();
app.Run();
