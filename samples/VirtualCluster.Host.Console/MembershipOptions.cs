using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using VirtualCluster.ControlPlane.HighAvailability;
using VirtualCluster.Membership;
using VirtualCluster.Membership.Consul;
using VirtualCluster.Membership.Consul.Client;
using VirtualCluster.Membership.Etcd;
using VirtualCluster.Membership.Members;

namespace VirtualCluster.Host.Console;

/// <summary>
/// `--membership embedded|etcd|consul` and its connection options, shared by `control-plane` and `agent`.
/// embedded (the default) keeps today's single control plane on SQLite; etcd and consul put the cluster state,
/// membership and leader election there, so several control planes can run as one.
/// </summary>
internal sealed class MembershipOptions
{
    public Option<string> Kind { get; } = new("--membership")
    {
        Description = "Where cluster state, membership and leader election live: embedded (SQLite, one control plane), etcd or consul (several control planes).",
        DefaultValueFactory = _ => "embedded",
    };

    public Option<string> EtcdEndpoints { get; } = new("--etcd-endpoints")
    {
        Description = "etcd client URLs, comma-separated (with --membership etcd).",
        DefaultValueFactory = _ => "http://127.0.0.1:2379",
    };

    public Option<string> ConsulAddress { get; } = new("--consul-address")
    {
        Description = "Consul agent HTTP address (with --membership consul). Default: $CONSUL_HTTP_ADDR, else http://127.0.0.1:8500.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONSUL_HTTP_ADDR") is { Length: > 0 } a ? (a.Contains("://", StringComparison.Ordinal) ? a : "http://" + a) : "http://127.0.0.1:8500",
    };

    public Option<string?> KeyPrefix { get; } = new("--key-prefix")
    {
        Description = "Prefix of this cluster's keys in etcd or Consul (default /vcluster/ for etcd, vcluster/ for Consul).",
    };

    public Option<string> LeaseTtl { get; } = new("--leader-lease")
    {
        Description = "Leader lease TTL (with etcd or consul): a dead leader is replaced about this long after it died, e.g. 5s.",
        DefaultValueFactory = _ => "5s",
    };

    public MembershipOptions() => Kind.AcceptOnlyFromAmong("embedded", "etcd", "consul");

    public IEnumerable<Option> All => [Kind, EtcdEndpoints, ConsulAddress, KeyPrefix, LeaseTtl];

    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        var (number, scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : text.EndsWith('h') ? (text[..^1], 3600.0)
            : text.EndsWith('d') ? (text[..^1], 86400.0)
            : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount <= 0) return false;
        value = TimeSpan.FromSeconds(amount * scale);
        return true;
    }

    /// <summary>Adds the provider and the highly available control plane for etcd or consul; nothing for embedded.</summary>
    public string? AddControlPlane(IServiceCollection services, ParseResult parse, string advertiseUrl)
    {
        var kind = parse.GetValue(Kind)!;
        if (kind == "embedded") return null;
        if (!TryParseDuration(parse.GetValue(LeaseTtl)!, out var ttl)) return $"--leader-lease \"{parse.GetValue(LeaseTtl)}\" is not a duration like 5s";
        AddProvider(services, parse);
        services.AddControlPlaneHighAvailability(o =>
        {
            o.AdvertiseUrl = advertiseUrl;
            o.LeaseTtl = ttl;
        });
        return null;
    }

    private void AddProvider(IServiceCollection services, ParseResult parse)
    {
        var prefix = parse.GetValue(KeyPrefix);
        if (parse.GetValue(Kind) == "etcd")
        {
            services.AddEtcdMembership(o =>
            {
                o.Endpoints = EtcdMembershipOptions.ParseEndpoints(parse.GetValue(EtcdEndpoints)!);
                if (prefix is not null) o.KeyPrefix = prefix;
            });
        }
        else
        {
            services.AddConsulMembership(o =>
            {
                o.Address = parse.GetValue(ConsulAddress)!;
                o.Token = Environment.GetEnvironmentVariable("CONSUL_HTTP_TOKEN");
                if (prefix is not null) o.KeyPrefix = prefix;
            });
        }
    }

    /// <summary>The API URLs of the control planes registered in etcd or Consul (none for embedded).</summary>
    public async Task<IReadOnlyList<string>> ControlPlaneUrlsAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var prefix = parse.GetValue(KeyPrefix);
        IMembership membership;
        IDisposable? owner = null;
        switch (parse.GetValue(Kind))
        {
            case "etcd":
                var options = new EtcdMembershipOptions { Endpoints = EtcdMembershipOptions.ParseEndpoints(parse.GetValue(EtcdEndpoints)!) };
                if (prefix is not null) options.KeyPrefix = prefix;
                var store = new EtcdKeyValueStore(options);
                owner = store;
                membership = new KvMembership(store);
                break;
            case "consul":
                var consul = new ConsulMembershipOptions { Address = parse.GetValue(ConsulAddress)!, Token = Environment.GetEnvironmentVariable("CONSUL_HTTP_TOKEN") };
                if (prefix is not null) consul.KeyPrefix = prefix;
                var http = new HttpClient();
                owner = http;
                membership = new ConsulMembership(new ConsulClient(http, consul), consul);
                break;
            default:
                return [];
        }
        using (owner)
        {
            var view = await membership.ListAsync(cancellationToken);
            return view.Members.Where(m => m.Metadata.GetValueOrDefault("role") == "control-plane").Select(m => m.Address).ToList();
        }
    }
}
