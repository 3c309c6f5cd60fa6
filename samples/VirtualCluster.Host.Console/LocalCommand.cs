using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.Host.Console;

/// <summary>
/// `local`: a whole cluster on this machine: one control plane and N agents, each a separate process on loopback.
/// Runs until Ctrl+C, then stops the agents (which stop their workloads) and the control plane.
/// </summary>
internal static class LocalCommand
{
    /// <summary>Stable URLs of the local cluster: its gateway on 127.0.0.1:8080 (*.localhost resolves to loopback).</summary>
    public const string LocalGatewayUrl = "http://{service}.localhost:8080/";

    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "Directory for all cluster data and logs.", DefaultValueFactory = _ => ".vcluster-local" };
        var port = new Option<int>("--port") { Description = "API port on 127.0.0.1.", DefaultValueFactory = _ => 7070 };
        var agents = new Option<int>("--agents") { Description = "Number of agents (1-16).", DefaultValueFactory = _ => 3 };
        var firstPort = new Option<int>("--service-ports") { Description = "First host port for services; each agent gets 1000 ports from here.", DefaultValueFactory = _ => 20000 };
        var docker = new Option<string>("--docker")
        {
            Description = "Docker driver of the agents: auto (use the daemon when it answers), on (require it) or off.",
            DefaultValueFactory = _ => "auto",
        };
        docker.AcceptOnlyFromAmong("auto", "on", "off");
        var dockerEndpoint = new Option<string>("--docker-endpoint") { Description = "Docker daemon address.", DefaultValueFactory = _ => "unix:///var/run/docker.sock" };
        var share = new Option<bool>("--share-machine")
        {
            Description = "Divide this machine among the agents: each reports its share of the CPU, memory and disk (default). "
                + "--share-machine false gives each agent the whole machine (oversubscription: the scheduler may place several times what fits).",
            DefaultValueFactory = _ => true,
        };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Port of the gateway on 127.0.0.1 (services at http://<service>.localhost:<port>/); 0 runs none.", DefaultValueFactory = _ => 8080 };
        var p2p = HostOptions.PeerLinks();
        var dnsListen = new Option<string?>("--dns-listen")
        {
            Description = "Have the gateway answer DNS for the cluster domain (localhost) on this UDP address:port, e.g. 127.0.0.1:5353 (dig @127.0.0.1 -p 5353 hello.localhost).",
        };
        var domain = new Option<string>("--domain") { Description = "Cluster domain of the gateway (services at http://<service>.<domain>:<port>/).", DefaultValueFactory = _ => "localhost" };
        var httpsPort = new Option<int>("--https-port") { Description = "Also serve HTTPS on 127.0.0.1:<port> (with --acme-directory for certificates); 0 serves none." };
        var tls = new GatewayTlsFlags();
        var ice = IceOptions.Create();
        var command = new Command("local", "Run a local cluster: a control plane, agents and a gateway on this machine.") { dataDir, port, agents, firstPort, docker, dockerEndpoint, share, gatewayPort, p2p, dnsListen, domain, httpsPort };
        foreach (var option in (Option[])[tls.AcmeDirectory, tls.AcmeServerFingerprint, tls.AcmeChallenge, tls.RedirectHttps]) command.Options.Add(option);
        foreach (var option in ice.All) command.Options.Add(option);
        command.SetAction(async (parse, _) =>
        {
            var settings = new LocalSettings(Path.GetFullPath(parse.GetValue(dataDir)!), parse.GetValue(port), parse.GetValue(agents), parse.GetValue(firstPort),
                parse.GetValue(docker)!, parse.GetValue(dockerEndpoint)!, parse.GetValue(share), parse.GetValue(gatewayPort))
            {
                PeerLinks = parse.GetValue(p2p)!,
                DnsListen = parse.GetValue(dnsListen),
                Domain = parse.GetValue(domain)!,
                HttpsPort = parse.GetValue(httpsPort),
                GatewayTlsArguments =
                [
                    .. parse.GetValue(tls.AcmeDirectory) is { } acme ? (string[])["--acme-directory", acme, "--acme-challenge", parse.GetValue(tls.AcmeChallenge)!] : [],
                    .. parse.GetValue(tls.AcmeServerFingerprint) is { } pin ? (string[])["--acme-server-fingerprint", pin] : [],
                    .. parse.GetValue(tls.RedirectHttps) ? (string[])["--redirect-https"] : [],
                ],
                IceArguments = ice.Arguments(parse),
            };
            if (settings.Validate() is { } error)
            {
                System.Console.Error.WriteLine($"error: {error}");
                return 2;
            }
            return await RunAsync(settings);
        });
        return command;
    }

    private sealed record LocalSettings(string DataDirectory, int Port, int Agents, int FirstServicePort, string Docker, string DockerEndpoint, bool ShareMachine,
        int GatewayPort)
    {
        /// <summary>"on" or "off": peer links between the gateway and the agents (all on loopback here).</summary>
        public string PeerLinks { get; init; } = "on";
        /// <summary>--dns-listen for the gateway, or null for no DNS.</summary>
        public string? DnsListen { get; init; }
        /// <summary>The gateway's cluster domain.</summary>
        public string Domain { get; init; } = "localhost";
        /// <summary>HTTPS port of the gateway on 127.0.0.1, 0 for none.</summary>
        public int HttpsPort { get; init; }
        /// <summary>--acme-* and --redirect-https for the gateway.</summary>
        public string[] GatewayTlsArguments { get; init; } = [];
        /// <summary>--ice-server/--turn-* flags for the control plane.</summary>
        public string[] IceArguments { get; init; } = [];

        public string Url => $"https://127.0.0.1:{Port}";
        public string GatewayUrl => $"http://127.0.0.1:{GatewayPort}";
        /// <summary>The control plane's template for stable URLs: this cluster's gateway port.</summary>
        public string StableUrlTemplate => LocalGatewayUrl.Replace(":8080/", $":{GatewayPort}/", StringComparison.Ordinal).Replace(".localhost:", $".{Domain}:", StringComparison.Ordinal);

        public string? Validate() =>
            Port is < 1 or > 65535 ? $"--port {Port} is not a port number (1-65535)"
            : Agents is < 1 or > 16 ? $"--agents {Agents} must be between 1 and 16"
            : GatewayPort is < 0 or > 65535 ? $"--gateway-port {GatewayPort} is not a port number (1-65535, or 0 for no gateway)"
            : GatewayPort == Port ? $"--gateway-port {GatewayPort} is the API port too; pick another"
            : DnsListen is not null && GatewayPort == 0 ? "--dns-listen needs the gateway; drop --gateway-port 0"
            : HttpsPort is < 0 or > 65535 ? $"--https-port {HttpsPort} is not a port number (1-65535, or 0 for none)"
            : HttpsPort != 0 && (GatewayPort == 0 || HttpsPort == GatewayPort || HttpsPort == Port) ? $"--https-port {HttpsPort} needs the gateway and a port of its own"
            : GatewayTlsArguments.Length > 0 && HttpsPort == 0 ? "--acme-directory and --redirect-https need --https-port"
            : HttpsPort != 0 && !GatewayTlsArguments.Contains("--acme-directory") ? "--https-port needs certificates: give --acme-directory"
            : !System.Text.RegularExpressions.Regex.IsMatch(Domain, "^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$") ? $"--domain \"{Domain}\" is not a DNS name like localhost or vc.test"
            : DnsListen is not null && (!System.Net.IPEndPoint.TryParse(DnsListen, out _) || !DnsListen.Contains(':'))
                ? $"--dns-listen \"{DnsListen}\" is not an address and port like 127.0.0.1:5353"
            : FirstServicePort < 1024 || FirstServicePort + Agents * 1000 - 1 > 65535
                ? $"--service-ports {FirstServicePort} leaves no room for {Agents} agents x 1000 ports below 65536"
            : null;
    }

    // Generous: on a machine loaded by other work, three agents and a control plane starting at once can take minutes.
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(180);

    private static async Task<int> RunAsync(LocalSettings s)
    {
        var children = new List<ChildProcess>();
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        var logs = Path.Combine(s.DataDirectory, "logs");
        var checklist = new StartChecklist(System.Console.Out, TimeProvider.System);
        System.Console.WriteLine($"Starting a local cluster in {s.DataDirectory}");
        try
        {
            var cpDir = Path.Combine(s.DataDirectory, "control-plane");
            var cp = ChildProcess.Start("control-plane",
                ["control-plane", "--data-dir", cpDir, "--listen", s.Url, .. s.GatewayPort != 0 ? (string[])["--gateway-url", s.StableUrlTemplate] : [], .. s.IceArguments],
                Path.Combine(logs, "control-plane.log"));
            children.Add(cp);
            // The API is https with the cluster's own CA: trust it by the fingerprint the control plane writes at start.
            var fingerprintFile = Path.Combine(cpDir, ClusterTls.FingerprintFile);
            HttpClient? http = null;
            string? fingerprint = null;
            async Task<bool> ReadyAsync()
            {
                var current = File.Exists(fingerprintFile) ? (await File.ReadAllTextAsync(fingerprintFile)).Trim() : null;
                if (current is null || !TlsFingerprint.TryParse(current, out var parsed, out _)) return false;
                if (parsed != fingerprint)
                {
                    http?.Dispose();
                    http = new HttpClient(PinnedHttp.CreateHandler(parsed)) { BaseAddress = new Uri(s.Url), Timeout = TimeSpan.FromSeconds(2) };
                    fingerprint = parsed;
                }
                return await HealthyAsync(http!);
            }
            if (!await WaitAsync(ReadyAsync, cp, JoinTimeout, stop.Token))
                return Failed(checklist, cp, $"control plane on {s.Url} (pid {cp.Pid}) did not start");
            using var api = http!;
            checklist.Done($"control plane up at {s.Url} (pid {cp.Pid}), cluster CA {fingerprint}");

            var adminToken = (await File.ReadAllTextAsync(Path.Combine(cpDir, ClusterCredentials.AdminTokenFile))).Trim();
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            var joinFile = Path.Combine(cpDir, ClusterCredentials.JoinTokenFile);
            if (s.GatewayPort != 0)
            {
                var gateway = ChildProcess.Start("gateway",
                [
                    "gateway", "--server", s.Url, "--token-file", Path.Combine(cpDir, ClusterCredentials.AdminTokenFile), "--ca-fingerprint", fingerprint!,
                    "--listen", s.HttpsPort != 0 ? $"{s.GatewayUrl},https://127.0.0.1:{s.HttpsPort}" : s.GatewayUrl, "--domain", s.Domain, "--p2p", s.PeerLinks, "--p2p-loopback",
                    .. s.GatewayTlsArguments,
                    .. s.DnsListen is not null ? (string[])["--dns-listen", s.DnsListen] : [],
                ], Path.Combine(logs, "gateway.log"));
                children.Add(gateway);
                using var probe = new HttpClient { BaseAddress = new Uri(s.GatewayUrl), Timeout = TimeSpan.FromSeconds(2) };
                if (!await WaitAsync(async () => (await probe.GetAsync("/")).IsSuccessStatusCode, gateway, TimeSpan.FromSeconds(60), stop.Token))
                    return Failed(checklist, gateway, $"gateway on {s.GatewayUrl} (pid {gateway.Pid}) did not start (is the port taken? pick another with --gateway-port)");
                checklist.Done($"gateway up at {s.GatewayUrl} (pid {gateway.Pid}): services at http://<service>.{s.Domain}:{s.GatewayPort}/"
                    + (s.HttpsPort != 0 ? $" and https://<service>.{s.Domain}:{s.HttpsPort}/" : "")
                    + (s.DnsListen is { } dns ? $"; DNS for {s.Domain} on udp {dns}" : ""));
            }
            var agents = new Dictionary<string, ChildProcess>(StringComparer.Ordinal);
            for (var i = 1; i <= s.Agents; i++)
            {
                var first = s.FirstServicePort + (i - 1) * 1000;
                var agent = ChildProcess.Start($"node-{i}",
                [
                    "agent", "--server", s.Url, "--join-token-file", joinFile, "--name", $"node-{i}",
                    "--data-dir", Path.Combine(s.DataDirectory, $"node-{i}"), "--ports", $"{first}-{first + 999}",
                    // Everything of a local cluster stays on this machine, container ports included.
                    "--docker", s.Docker, "--docker-endpoint", s.DockerEndpoint, "--docker-publish-address", "127.0.0.1",
                    // The whole cluster stops together: there is nowhere to drain to.
                    "--no-drain-on-shutdown",
                    // One machine, several agents: each reports its part, so the cluster adds up to the machine.
                    .. s.ShareMachine && s.Agents > 1 ? (string[])["--machine-share", $"{i}/{s.Agents}"] : [],
                    // Each agent keeps a tunnel to the gateway: the stable URLs reach instances through it.
                    .. s.GatewayPort != 0 ? (string[])["--gateway", s.GatewayUrl] : [],
                    // ... and answers the gateway's peer links (data channels), which carry the traffic while they are up.
                    "--p2p", s.PeerLinks, "--p2p-loopback",
                ], Path.Combine(logs, $"node-{i}.log"));
                children.Add(agent);
                agents[$"node-{i}"] = agent;
            }
            var reported = new HashSet<string>(StringComparer.Ordinal);
            var joined = await WaitAsync(async () =>
            {
                foreach (var view in (await AliveNodesAsync(api)).Where(v => agents.ContainsKey(v.Node.Name) && reported.Add(v.Node.Name)))
                    checklist.Done(JoinedLine(view, agents[view.Node.Name]));
                return reported.Count >= s.Agents;
            }, cp, JoinTimeout, stop.Token);
            if (!joined)
            {
                var missing = agents.Where(a => !reported.Contains(a.Key)).ToList();
                var culprit = missing.Select(m => m.Value).FirstOrDefault(c => c.HasExited) ?? missing.FirstOrDefault().Value ?? cp;
                return Failed(checklist, culprit, $"only {reported.Count} of {s.Agents} agents joined; missing: {string.Join(", ", missing.Select(m => $"{m.Key} (pid {m.Value.Pid})"))}");
            }
            checklist.Done("drivers found: " + await DriversAsync(api, s.Docker == "off"));
            if (s.ShareMachine && s.Agents > 1)
                checklist.Info($"the {s.Agents} nodes share this machine: each reports 1/{s.Agents} of its CPU, memory and disk (--share-machine false: each gets all of it)");
            else if (s.Agents > 1)
                checklist.Info($"--share-machine false: each of the {s.Agents} nodes offers the whole machine (oversubscribed {s.Agents}x)");

            var config = WriteCliConfig(s.Url, Path.Combine(cpDir, ClusterCredentials.AdminTokenFile), Path.Combine(cpDir, ClusterTls.CaCertificateFile));
            var cli = CliLocator.FastCommand(AppContext.BaseDirectory);
            checklist.Done(cli is null ? "CLI not built; using dotnet run (slow: about 2.5 s a command)" : $"CLI ready: {cli}");
            checklist.Info($"CLI config:  {config} (vcluster uses it when no --server/--token is given)");
            checklist.Info($"admin token: {Path.Combine(cpDir, ClusterCredentials.AdminTokenFile)}");
            // The browser does not know the cluster CA: it warns once (or import ca.crt); sign in with the admin token.
            checklist.Info($"dashboard:   {s.Url.TrimEnd('/')}{VirtualCluster.Dashboard.DashboardEndpoints.DefaultPath}/ (sign in with the admin token; the browser needs {Path.Combine(cpDir, ClusterTls.CaCertificateFile)} trusted, or a one-time exception)");
            checklist.Info($"join token:  {joinFile}");
            checklist.Info($"logs:        {logs}");
            System.Console.WriteLine();
            System.Console.WriteLine($"local cluster ready: {s.Agents} node(s), API {s.Url}");
            checklist.Next("Next, in another terminal:", NextCommands(cli, s.GatewayPort));
            System.Console.WriteLine("Press Ctrl+C to stop the cluster.");
            while (!stop.IsCancellationRequested)
            {
                if (children.FirstOrDefault(c => c.HasExited) is { } dead)
                    System.Console.Error.WriteLine($"warning: {dead.Name} (pid {dead.Pid}) exited; see {dead.LogPath}");
                await Task.Delay(1000, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                children.RemoveAll(c => c.HasExited && c != cp);
            }
            return 0;
        }
        finally
        {
            System.Console.WriteLine("stopping agents and their workloads ...");
            await Task.WhenAll(children.Where(c => c.Name is not ("control-plane" or "gateway")).Select(c => c.StopAsync(TimeSpan.FromSeconds(30))));
            foreach (var c in children.Where(c => c.Name == "gateway")) await c.StopAsync(TimeSpan.FromSeconds(15));
            foreach (var c in children.Where(c => c.Name == "control-plane")) await c.StopAsync(TimeSpan.FromSeconds(15));
            foreach (var c in children) c.Dispose();
            System.Console.WriteLine("local cluster stopped");
        }
    }

    /// <summary>"node-1 joined (pid 42): 666m CPU, 7.8 GiB memory, 33 GiB disk (1/3 of this machine), ports 20000-20999".</summary>
    private static string JoinedLine(NodeView view, ChildProcess agent)
    {
        var c = view.Node.Capacity;
        var share = view.Node.Labels.TryGetValue(VirtualCluster.Agent.MachineShare.Label, out var part) ? $" ({part} of this machine)" : "";
        return $"{view.Node.Name} joined (pid {agent.Pid}): {Quantity.FormatCpu(c.CpuMillicores)} CPU, {Quantity.FormatBytes(c.MemoryBytes)} memory, "
            + $"{Quantity.FormatBytes(c.DiskBytes)} disk{share}, ports {view.Node.Ports.First}-{view.Node.Ports.Last}";
    }

    /// <summary>The exact commands to type next; the spec path works from the repository root or from anywhere else.</summary>
    private static IEnumerable<string> NextCommands(string? cli, int gatewayPort)
    {
        var spec = Path.Combine("samples", "specs", "hello.json");
        if (!File.Exists(spec) && FindRepositoryRoot() is { } root) spec = Path.Combine(root, spec);
        yield return cli is null ? $"alias vcluster='dotnet run --project {RepositoryPath("src/VirtualCluster.Cli")} --'" : cli.Contains(' ', StringComparison.Ordinal) ? $"alias vcluster='{cli}'" : $"alias vcluster={cli}";
        yield return $"vcluster deploy {spec}";
        if (gatewayPort != 0) yield return $"curl http://hello.localhost:{gatewayPort}/";
        yield return "vcluster status";
    }

    private static string RepositoryPath(string relative) =>
        Directory.Exists(relative) || FindRepositoryRoot() is not { } root ? relative : Path.Combine(root, relative);

    private static string? FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VirtualCluster.Sdk.sln"))) return dir.FullName;
        return null;
    }

    private static int Failed(StartChecklist checklist, ChildProcess child, string what)
    {
        checklist.Failed(what, $"error: {what}. Last lines of {child.LogPath}:\n{child.Tail()}");
        return 1;
    }

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition, ChildProcess mustLive, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !ct.IsCancellationRequested && !mustLive.HasExited)
        {
            try
            {
                if (await condition()) return true;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException) { }
            await Task.Delay(200, ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        return false;
    }

    private static async Task<bool> HealthyAsync(HttpClient http) => (await http.GetAsync("/v1/health")).IsSuccessStatusCode;

    private static async Task<IEnumerable<NodeView>> AliveNodesAsync(HttpClient http)
    {
        var nodes = await http.GetFromJsonAsync<List<NodeView>>("/v1/nodes", VirtualClusterJson.Options) ?? [];
        return nodes.Where(n => n.Node.State == NodeState.Alive).OrderBy(n => n.Node.Name, StringComparer.Ordinal);
    }

    /// <summary>"process, docker (Docker at unix:///...)": what the agents offer.</summary>
    private static async Task<string> DriversAsync(HttpClient http, bool dockerOff)
    {
        var nodes = await http.GetFromJsonAsync<List<NodeView>>("/v1/nodes", VirtualClusterJson.Options) ?? [];
        var names = nodes.SelectMany(n => n.Node.Drivers).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return names.Contains("docker")
            ? string.Join(", ", names) + " (specs with \"driver\": \"docker\" run as containers)"
            : string.Join(", ", names) + (dockerOff ? " (--docker off)" : " (no Docker daemon answered; docker specs cannot be placed)");
    }

    /// <summary>Points the CLI at this cluster: VCLUSTER_CONFIG if set, else ~/.vcluster/config.json.</summary>
    private static string WriteCliConfig(string url, string tokenFile, string caCert)
    {
        var path = Environment.GetEnvironmentVariable("VCLUSTER_CONFIG") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".vcluster", "config.json");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(new { server = url, tokenFile, caCert }, new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }
}
