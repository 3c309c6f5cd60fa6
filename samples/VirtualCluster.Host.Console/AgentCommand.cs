using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VirtualCluster.Agent;

namespace VirtualCluster.Host.Console;

/// <summary>`agent`: join a control plane and run the workloads it assigns. Dials out only.</summary>
internal static class AgentCommand
{
    public static Command Create()
    {
        var server = new Option<string?>("--server") { Description = "Control-plane URL, e.g. https://127.0.0.1:7070, or several, comma-separated (required unless --membership finds them)." };
        var membership = new MembershipOptions();
        var joinToken = new Option<string?>("--join-token") { Description = "Join token (or use --join-token-file)." };
        var joinTokenFile = new Option<string?>("--join-token-file") { Description = "File holding the join token (the control plane's join.token)." };
        var caFingerprint = HostOptions.CaFingerprint();
        var name = new Option<string>("--name") { Description = "Node name.", DefaultValueFactory = _ => Environment.MachineName.ToLowerInvariant() };
        var dataDir = new Option<string>("--data-dir") { Description = "Directory for identity, instance data and logs.", Required = true };
        var address = new Option<string>("--address") { Description = "Address where this node's service ports are reachable.", DefaultValueFactory = _ => "127.0.0.1" };
        var ports = new Option<string>("--ports") { Description = "Host port range for instances.", DefaultValueFactory = _ => "20000-20999" };
        var replicaPort = new Option<string>("--replica-port")
        {
            Description = "TCP port where other nodes push replicas of replicated volumes to this node (0 = any free port, off = hold no replicas).",
            DefaultValueFactory = _ => "0",
        };
        var replicaRetention = new Option<string>("--replica-retention")
        {
            Description = "How long a replica this node holds may go unwanted (its service removed, or moved to other holders) before it is deleted, e.g. 1h, 30m, 7d.",
            DefaultValueFactory = _ => "1h",
        };
        var labels = new Option<string[]>("--label") { Description = "Node label key=value (repeatable).", AllowMultipleArgumentsPerToken = false };
        var cpu = new Option<string?>("--cpu") { Description = "Advertise this much CPU instead of measuring (e.g. 2 or 1500m)." };
        var memory = new Option<string?>("--memory") { Description = "Advertise this much memory instead of measuring (e.g. 4Gi)." };
        var machineShare = new Option<string?>("--machine-share")
        {
            Description = "Report part k of n of this machine (e.g. 1/3) when n agents share it: that part of its CPU, memory, disk and measured use.",
        };
        var docker = new Option<string>("--docker")
        {
            Description = "Docker driver: auto (offer it while the daemon answers), on (also refuse to start without a daemon) or off.",
            DefaultValueFactory = _ => "auto",
        };
        docker.AcceptOnlyFromAmong("auto", "on", "off");
        var dockerEndpoint = new Option<string>("--docker-endpoint") { Description = "Docker daemon address.", DefaultValueFactory = _ => "unix:///var/run/docker.sock" };
        var dockerPublish = new Option<string>("--docker-publish-address")
        {
            Description = "Host address container ports are published on (0.0.0.0 = every interface, 127.0.0.1 = this machine only).",
            DefaultValueFactory = _ => "0.0.0.0",
        };
        var gateway = new Option<string?>("--gateway") { Description = "Gateway URL(s), comma-separated: keep an outbound tunnel to each so services are reachable at their stable URLs." };
        var p2p = HostOptions.PeerLinks();
        var p2pLoopback = HostOptions.PeerLinksOnLoopback();
        var policy = HostOptions.IceTransportPolicy();
        var serviceCalls = new Option<string>("--service-calls")
        {
            Description = "on: give instances VC_SERVICE_<NAME>_URL, a local address per service of the cluster, carried through the gateway (needs --gateway); off: none.",
            DefaultValueFactory = _ => "on",
        };
        serviceCalls.AcceptOnlyFromAmong("on", "off");
        var serviceCallsAddress = new Option<string>("--service-calls-address")
        {
            Description = "Address the service-call ports listen on: 127.0.0.1 for process instances; the Docker bridge's (e.g. 172.17.0.1) for containers too.",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var noDrain = new Option<bool>("--no-drain-on-shutdown") { Description = "On SIGTERM/Ctrl+C stop at once instead of draining this node first (use when the whole cluster stops)." };
        var drainTimeout = new Option<double>("--drain-timeout") { Description = "Seconds to wait for the drain on shutdown.", DefaultValueFactory = _ => 30 };
        var jitter = new Option<double>("--heartbeat-jitter") { Description = "Test aid: delay each heartbeat by up to this many milliseconds.", Hidden = true };
        var exitWithStdin = HostOptions.ExitWithStdin();
        var command = new Command("agent", "Run a node agent that joins a control plane.")
        {
            server, joinToken, joinTokenFile, caFingerprint, name, dataDir, address, ports, replicaPort, replicaRetention, labels, cpu, memory, machineShare, docker, dockerEndpoint, dockerPublish,
            noDrain, drainTimeout, jitter, exitWithStdin, gateway, p2p, p2pLoopback, policy, serviceCalls, serviceCallsAddress,
        };
        foreach (var option in membership.All.Where(o => o != membership.LeaseTtl)) command.Options.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            var errors = new List<string>();
            // With etcd or Consul, the control planes registered there are added to --server.
            var servers = (parse.GetValue(server) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            try
            {
                servers.AddRange((await membership.ControlPlaneUrlsAsync(parse, ct)).Where(u => !servers.Contains(u)));
            }
            catch (Exception e) when (e is VirtualCluster.Store.KeyValueStoreUnavailableException or HttpRequestException)
            {
                errors.Add($"--membership {parse.GetValue(membership.Kind)}: cannot list the control planes: {e.Message}");
            }
            if (servers.Count == 0 && errors.Count == 0) errors.Add("--server is required (or --membership etcd|consul with registered control planes)");
            var options = new AgentOptions
            {
                ServerUrl = string.Join(',', servers),
                Name = parse.GetValue(name)!,
                DataDirectory = Path.GetFullPath(parse.GetValue(dataDir)!),
                Address = parse.GetValue(address)!,
                Docker = Enum.Parse<DockerMode>(parse.GetValue(docker)!, ignoreCase: true),
                DockerEndpoint = parse.GetValue(dockerEndpoint)!,
                DockerPublishAddress = parse.GetValue(dockerPublish)!,
                Gateways = parse.GetValue(gateway) ?? "",
                PeerLinks = parse.GetValue(p2p) == "on",
                PeerLinksOnLoopback = parse.GetValue(p2pLoopback),
                PeerLinksRelayOnly = parse.GetValue(policy) == "relay",
                ServiceCalls = parse.GetValue(serviceCalls) == "on",
                ServiceCallsAddress = parse.GetValue(serviceCallsAddress)!,
            };
            if (PortRange.TryParse(parse.GetValue(ports), out var range)) options.Ports = range;
            else errors.Add($"--ports \"{parse.GetValue(ports)}\" is not a range like 20000-20999");
            var replica = parse.GetValue(replicaPort);
            if (replica == "off") options.ReplicaPort = null;
            else if (int.TryParse(replica, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var rp) && rp <= 65535) options.ReplicaPort = rp;
            else errors.Add($"--replica-port \"{replica}\" is not a port; use 1-65535, 0 for any free port, or off");
            if (MembershipOptions.TryParseDuration(parse.GetValue(replicaRetention)!, out var retention))
            {
                options.ReplicaRetention = retention;
                // Ask at least twice per retention, so a short one (tests, small disks) is honoured closely.
                if (retention < TimeSpan.FromMinutes(2)) options.ReplicaCollectInterval = TimeSpan.FromMilliseconds(Math.Max(100, retention.TotalMilliseconds / 2));
            }
            else errors.Add($"--replica-retention \"{parse.GetValue(replicaRetention)}\" is not a duration like 1h, 30m or 7d");
            foreach (var label in parse.GetValue(labels) ?? [])
            {
                var parts = label.Split('=', 2);
                if (parts.Length == 2 && parts[0].Length > 0) options.Labels[parts[0]] = parts[1];
                else errors.Add($"--label \"{label}\" is not key=value");
            }
            if (parse.GetValue(cpu) is { } c)
            {
                if (Quantity.TryParseCpu(c, out var millis) && millis > 0) options.CpuMillicores = millis;
                else errors.Add($"--cpu \"{c}\" is not a CPU quantity like 2 or 1500m");
            }
            if (parse.GetValue(memory) is { } m)
            {
                if (Quantity.TryParseBytes(m, out var bytes) && bytes > 0) options.MemoryBytes = bytes;
                else errors.Add($"--memory \"{m}\" is not a size like 4Gi or 512Mi");
            }
            if (parse.GetValue(machineShare) is { } share)
            {
                if (MachineShare.TryParse(share, out var part)) options.MachineShare = part;
                else errors.Add($"--machine-share \"{share}\" is not a part k/n with 1 <= k <= n <= {MachineShare.MaxParts}, e.g. 1/3");
            }
            options.DrainOnShutdown = !parse.GetValue(noDrain);
            if (parse.GetValue(drainTimeout) is var seconds and >= 0 and <= 3600) options.DrainTimeout = TimeSpan.FromSeconds(seconds);
            else errors.Add($"--drain-timeout {parse.GetValue(drainTimeout)} must be between 0 and 3600 seconds");
            if (parse.GetValue(jitter) is var ms and >= 0 and <= 30_000) options.HeartbeatJitter = TimeSpan.FromMilliseconds(ms);
            else errors.Add($"--heartbeat-jitter {parse.GetValue(jitter)} must be between 0 and 30000 milliseconds");
            options.JoinToken = parse.GetValue(joinToken);
            if (parse.GetValue(joinTokenFile) is { } file)
            {
                try { options.JoinToken = File.ReadAllText(file).Trim(); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { errors.Add($"--join-token-file: cannot read {file}: {e.Message}"); }
            }
            options.CaFingerprint = HostOptions.ReadFingerprint(parse.GetValue(caFingerprint), errors);
            if (errors.Count > 0)
            {
                foreach (var e in errors) System.Console.Error.WriteLine($"error: {e}");
                return 2;
            }
            return await RunAsync(options, parse.GetValue(exitWithStdin));
        });
        return command;
    }

    private static async Task<int> RunAsync(AgentOptions options, bool exitWithStdin)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        // Room for the drain, then for the workloads' own grace period.
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o =>
            o.ShutdownTimeout = options.DrainTimeout + options.StopGracePeriod + TimeSpan.FromSeconds(15));
        builder.Services.AddVirtualClusterAgent(o =>
        {
            o.ServerUrl = options.ServerUrl; o.JoinToken = options.JoinToken; o.CaFingerprint = options.CaFingerprint; o.Name = options.Name; o.Address = options.Address;
            o.DataDirectory = options.DataDirectory; o.Ports = options.Ports; o.Labels = options.Labels; o.ReplicaPort = options.ReplicaPort;
            o.ReplicaRetention = options.ReplicaRetention; o.ReplicaCollectInterval = options.ReplicaCollectInterval;
            o.CpuMillicores = options.CpuMillicores; o.MemoryBytes = options.MemoryBytes; o.MachineShare = options.MachineShare;
            o.Docker = options.Docker; o.DockerEndpoint = options.DockerEndpoint; o.DockerPublishAddress = options.DockerPublishAddress;
            o.DrainOnShutdown = options.DrainOnShutdown; o.DrainTimeout = options.DrainTimeout; o.HeartbeatJitter = options.HeartbeatJitter;
            o.Gateways = options.Gateways; o.PeerLinks = options.PeerLinks; o.PeerLinksOnLoopback = options.PeerLinksOnLoopback;
            o.PeerLinksRelayOnly = options.PeerLinksRelayOnly;
            o.ServiceCalls = options.ServiceCalls; o.ServiceCallsAddress = options.ServiceCallsAddress;
        });
        using var host = builder.Build();
        if (exitWithStdin) HostOptions.WatchStdin(() => host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication());
        try
        {
            await host.RunAsync();
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            System.Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        return Environment.ExitCode;
    }
}
