using VirtualCluster.ControlPlane.HighAvailability;
using VirtualCluster.Membership.Consul;
using VirtualCluster.Membership.Etcd;

namespace VirtualCluster.Host.Web;

/// <summary>
/// `--membership embedded|etcd|consul` for the web host, from the command line (<c>--membership etcd
/// --etcd-endpoints http://127.0.0.1:2379</c>) or configuration (<c>VirtualCluster:Membership</c>,
/// <c>VirtualCluster:Etcd:Endpoints</c>, <c>VirtualCluster:Consul:Address</c>, <c>VirtualCluster:AdvertiseUrl</c>,
/// <c>VirtualCluster:LeaderLease</c>). embedded (the default) is one control plane on SQLite; etcd and consul make
/// this one of several highly available control planes.
/// </summary>
internal static class WebHostMembership
{
    public static void Add(WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        string? Setting(string argument, string key) => config[argument] is { Length: > 0 } a ? a : config[key];
        var kind = Setting("membership", "VirtualCluster:Membership") ?? "embedded";
        if (kind == "embedded") return;
        if (kind is not ("etcd" or "consul"))
            throw new InvalidOperationException($"--membership \"{kind}\" is not one of embedded, etcd, consul.");
        if (kind == "etcd")
        {
            var endpoints = Setting("etcd-endpoints", "VirtualCluster:Etcd:Endpoints") ?? "http://127.0.0.1:2379";
            builder.Services.AddEtcdMembership(o => o.Endpoints = EtcdMembershipOptions.ParseEndpoints(endpoints));
        }
        else
        {
            var address = Setting("consul-address", "VirtualCluster:Consul:Address")
                ?? (Environment.GetEnvironmentVariable("CONSUL_HTTP_ADDR") is { Length: > 0 } a ? (a.Contains("://", StringComparison.Ordinal) ? a : "http://" + a) : "http://127.0.0.1:8500");
            builder.Services.AddConsulMembership(o => o.Address = address);
        }
        var advertise = Setting("advertise-url", "VirtualCluster:AdvertiseUrl") ?? (config["Urls"] ?? "").Split(';')[0];
        var lease = Setting("leader-lease", "VirtualCluster:LeaderLease");
        builder.Services.AddControlPlaneHighAvailability(o =>
        {
            o.AdvertiseUrl = advertise;
            if (lease is not null) o.LeaseTtl = TimeSpan.Parse(lease, System.Globalization.CultureInfo.InvariantCulture);
        });
    }
}
