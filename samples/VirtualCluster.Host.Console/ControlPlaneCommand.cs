using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VirtualCluster.ControlPlane;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.Dashboard;

namespace VirtualCluster.Host.Console;

/// <summary>`control-plane`: the API, store and reconciler in one process (embedded SQLite store).</summary>
internal static class ControlPlaneCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "Directory for the database and token files.", Required = true };
        var listen = new Option<string>("--listen")
        {
            Description = "URL to serve the API on: https (the cluster CA's certificate) or, only when asked for, plain http.",
            DefaultValueFactory = _ => "https://127.0.0.1:7070",
        };
        var tls = new TlsOptions();
        var alerts = new AlertFlags();
        var heartbeat = new Option<double>("--heartbeat-interval") { Description = "Seconds between agent heartbeats.", DefaultValueFactory = _ => 0.5 };
        var maxRate = new Option<double>("--max-heartbeats-per-second")
        {
            Description = "Heartbeats per second the leader takes at most: agents are told max(--heartbeat-interval, nodes / this), so larger clusters report less often (and are declared down later). Default 1000 (up to 500 nodes keep 0.5 s).",
            DefaultValueFactory = _ => 1000,
        };
        var lease = new Option<double>("--fencing-lease")
        {
            Description = "Seconds an agent may go without an answer before it stops its singletons (0 turns self-fencing off).",
            DefaultValueFactory = _ => 3,
        };
        var machineTokenLifetime = new Option<double>("--machine-token-lifetime")
        {
            Description = "Seconds an agent's machine token is valid (renewed in heartbeats at half-life; 0: never expires). Default a day.",
            DefaultValueFactory = _ => 86400,
        };
        var keyRotation = new Option<double>("--key-rotation-days")
        {
            Description = "Days after which each control plane replaces its token signing key (old tokens stay valid until they expire); from 0.042 (an hour) to 365.",
            DefaultValueFactory = _ => 30,
        };
        var exitWithStdin = HostOptions.ExitWithStdin();
        var membership = new MembershipOptions();
        var advertise = new Option<string?>("--advertise-url") { Description = "URL other control planes and agents reach this one at (etcd/consul; default: --listen)." };
        var gatewayUrl = new Option<string?>("--gateway-url")
        {
            Description = "The gateway's public URL for a service, with {service} for its name, e.g. http://{service}.localhost:8080/; shown as each service's stable URL.",
        };
        var ice = IceOptions.Create();
        var command = new Command("control-plane", "Run the control plane (API, SQLite store, reconciler), or one of several on etcd or Consul.") { dataDir, listen, advertise, heartbeat, maxRate, lease, machineTokenLifetime, keyRotation, gatewayUrl, exitWithStdin };
        foreach (var option in ice.All) command.Options.Add(option);
        foreach (var option in tls.All) command.Options.Add(option);
        foreach (var option in alerts.All) command.Options.Add(option);
        foreach (var option in membership.All) command.Options.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            var url = parse.GetValue(listen)!;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                System.Console.Error.WriteLine($"error: --listen \"{url}\" is not an https or http URL; use e.g. https://127.0.0.1:7070");
                return 2;
            }
            if (tls.Read(parse, [uri, .. Urls(parse.GetValue(advertise))]) is not { } tlsSettings)
                return 2;
            var interval = parse.GetValue(heartbeat);
            var fencing = parse.GetValue(lease);
            if (interval is < 0.1 or > 30)
            {
                System.Console.Error.WriteLine($"error: --heartbeat-interval {interval} must be between 0.1 and 30 seconds");
                return 2;
            }
            if (fencing != 0 && (fencing < 2 * interval || fencing > 600))
            {
                System.Console.Error.WriteLine($"error: --fencing-lease {fencing} must be 0 (off) or between two heartbeat intervals ({2 * interval} s) and 600 seconds");
                return 2;
            }
            var heartbeatsPerSecond = parse.GetValue(maxRate);
            if (!double.IsFinite(heartbeatsPerSecond) || heartbeatsPerSecond is < 1 or > 1_000_000)
            {
                System.Console.Error.WriteLine($"error: --max-heartbeats-per-second {heartbeatsPerSecond} must be between 1 and 1000000, e.g. 1000");
                return 2;
            }
            var tokenLifetime = parse.GetValue(machineTokenLifetime);
            if (tokenLifetime != 0 && (tokenLifetime < 2 || tokenLifetime > 365 * 86400))
            {
                System.Console.Error.WriteLine($"error: --machine-token-lifetime {tokenLifetime} must be 0 (never expires) or between 2 and {365 * 86400} seconds (a year)");
                return 2;
            }
            if (alerts.Read(parse) is not { } alertSettings) return 2;
            var rotation = parse.GetValue(keyRotation);
            if (rotation is < 1.0 / 24 or > 365 || double.IsNaN(rotation))
            {
                System.Console.Error.WriteLine($"error: --key-rotation-days {rotation} must be between 0.042 (an hour) and 365 days, e.g. 30");
                return 2;
            }
            var highAvailability = (IServiceCollection services) =>
            {
                alertSettings(services);
                return membership.AddControlPlane(services, parse, parse.GetValue(advertise) ?? url);
            };
            var p2p = ice.Read(parse);
            return await RunAsync(Path.GetFullPath(parse.GetValue(dataDir)!), uri, TimeSpan.FromSeconds(interval), heartbeatsPerSecond, TimeSpan.FromSeconds(fencing),
                TimeSpan.FromSeconds(tokenLifetime), TimeSpan.FromDays(rotation), parse.GetValue(gatewayUrl), parse.GetValue(exitWithStdin), highAvailability, p2p, tlsSettings, ct);
        });
        return command;
    }

    private static IEnumerable<Uri> Urls(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => Uri.TryCreate(u, UriKind.Absolute, out var parsed) ? parsed : null).OfType<Uri>();

    private static async Task<int> RunAsync(string dataDirectory, Uri url, TimeSpan heartbeat, double maxHeartbeatsPerSecond, TimeSpan lease, TimeSpan machineTokenLifetime, TimeSpan keyRotation, string? gatewayUrl, bool exitWithStdin,
        Func<IServiceCollection, string?> highAvailability, Action<P2POptions> p2p, Action<ControlPlaneOptions> tls, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = 1 << 20;
            k.ListenControlPlane(url);
        });
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddVirtualClusterControlPlane(o =>
        {
            o.DataDirectory = dataDirectory;
            o.HeartbeatInterval = heartbeat;
            o.MaxHeartbeatsPerSecond = maxHeartbeatsPerSecond;
            o.FailureDetector.FirstHeartbeatEstimate = heartbeat;
            o.FencingLease = lease;
            o.MachineTokenLifetime = machineTokenLifetime;
            tls(o);
        });
        builder.Services.Configure<VirtualCluster.ControlPlane.Keys.TokenKeyOptions>(o => o.RotateEvery = keyRotation > TimeSpan.FromHours(1) ? keyRotation : TimeSpan.FromHours(1));
        // Checked at start (ServiceUrlOptionsValidator): a template without {service} or not http(s) is refused with the fix.
        builder.Services.Configure<ServiceUrlOptions>(o => o.GatewayUrl = gatewayUrl);
        // Checked at start (P2POptionsValidator): a malformed --ice-server, or TURN without credentials, is refused with the fix.
        builder.Services.Configure(p2p);
        if (highAvailability(builder.Services) is { } problem)
        {
            System.Console.Error.WriteLine($"error: {problem}");
            return 2;
        }
        var app = builder.Build();
        app.MapVirtualClusterApi();
        app.MapVirtualClusterDashboard(); // /ui/: public assets, the data comes from /v1 with the user's token
        if (exitWithStdin) HostOptions.WatchStdin(() => app.Lifetime.StopApplication());
        try
        {
            await app.StartAsync(ct);
        }
        catch (IOException e)
        {
            System.Console.Error.WriteLine($"error: cannot listen on {url.OriginalString}: {e.Message}. Is another control plane running? Pick another port with --listen.");
            return 1;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            System.Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (InvalidOperationException e) when (e.Message.Contains("database", StringComparison.OrdinalIgnoreCase) || e.Message.StartsWith("cannot use the CA", StringComparison.Ordinal))
        {
            System.Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        System.Console.WriteLine($"control plane listening on {url.OriginalString}; data in {dataDirectory}");
        if (url.Scheme == "https")
        {
            var ca = app.Services.GetRequiredService<ClusterTls>();
            System.Console.WriteLine($"cluster CA {ca.Fingerprint} ({Path.Combine(dataDirectory, ClusterTls.CaCertificateFile)}); join tokens carry it");
        }
        else
        {
            System.Console.WriteLine($"warning: the API is served over plain HTTP ({url.OriginalString}): tokens cross the network in clear text; use --listen https://... unless this is one machine");
        }
        await app.WaitForShutdownAsync(CancellationToken.None);
        return 0;
    }
}
