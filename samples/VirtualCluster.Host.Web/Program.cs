using VirtualCluster.ControlPlane;

// The control plane as an ASP.NET Core web host, configured through appsettings.json or environment
// variables (VirtualCluster__DataDirectory=...). Embed the same two calls in any ASP.NET Core app.
var builder = WebApplication.CreateBuilder(args);
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1 << 20);
builder.Services.AddVirtualClusterControlPlane(options => builder.Configuration.GetSection("VirtualCluster").Bind(options));
VirtualCluster.Host.Web.WebHostMembership.Add(builder); // --membership embedded|etcd|consul
var app = builder.Build();
app.MapGet("/", () => Results.Redirect("/v1/health"));
app.MapVirtualClusterApi();
app.Run();
