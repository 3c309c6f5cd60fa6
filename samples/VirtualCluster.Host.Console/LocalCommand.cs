using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane;

namespace VirtualCluster.Host.Console;

/// <summary>
/// `local`: a whole cluster on this machine: one control plane and N agents, each a separate process on loopback.
/// Runs until Ctrl+C, then stops the agents (which stop their workloads) and the control plane.
/// </summary>
internal static class LocalCommand
{
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
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Port of the gateway on 127.0.0.1 (services at http://<service>.localhost:<port>/); 0 runs none.", DefaultValueFactory = _ => 8080 };
        var command = new Command("local", "Run a local cluster: a control plane, agents and a gateway on this machine.") { dataDir, port, agents, firstPort, docker, dockerEndpoint, gatewayPort };
        command.SetAction(async (parse, _) =>
        {
            var settings = new LocalSettings(Path.GetFullPath(parse.GetValue(dataDir)!), parse.GetValue(port), parse.GetValue(agents), parse.GetValue(firstPort),
                parse.GetValue(docker)!, parse.GetValue(dockerEndpoint)!, parse.GetValue(gatewayPort));
            if (settings.Validate() is { } error)
            {
                System.Console.Error.WriteLine($"error: {error}");
                return 2;
            }
            return await RunAsync(settings);
        });
        return command;
    }

    private sealed record LocalSettings(string DataDirectory, int Port, int Agents, int FirstServicePort, string Docker, string DockerEndpoint, int GatewayPort)
    {
        public string Url => $"http://127.0.0.1:{Port}";
        public string GatewayUrl => $"http://127.0.0.1:{GatewayPort}";

        public string? Validate() =>
            Port is < 1 or > 65535 ? $"--port {Port} is not a port number (1-65535)"
            : Agents is < 1 or > 16 ? $"--agents {Agents} must be between 1 and 16"
            : GatewayPort is < 0 or > 65535 ? $"--gateway-port {GatewayPort} is not a port number (1-65535, or 0 for no gateway)"
            : GatewayPort == Port ? $"--gateway-port {GatewayPort} is the API port too; pick another"
            : FirstServicePort < 1024 || FirstServicePort + Agents * 1000 - 1 > 65535
                ? $"--service-ports {FirstServicePort} leaves no room for {Agents} agents x 1000 ports below 65536"
            : null;
    }

    private static async Task<int> RunAsync(LocalSettings s)
    {
        var children = new List<ChildProcess>();
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        var logs = Path.Combine(s.DataDirectory, "logs");
        try
        {
            var cpDir = Path.Combine(s.DataDirectory, "control-plane");
            var cp = ChildProcess.Start("control-plane", ["control-plane", "--data-dir", cpDir, "--listen", s.Url], Path.Combine(logs, "control-plane.log"));
            children.Add(cp);
            System.Console.WriteLine($"starting control plane on {s.Url} (pid {cp.Pid}) ...");
            using var http = new HttpClient { BaseAddress = new Uri(s.Url), Timeout = TimeSpan.FromSeconds(2) };
            if (!await WaitAsync(() => HealthyAsync(http), cp, TimeSpan.FromSeconds(60), stop.Token))
                return Failed(cp, "the control plane did not start");

            var adminToken = (await File.ReadAllTextAsync(Path.Combine(cpDir, ClusterCredentials.AdminTokenFile))).Trim();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            var joinFile = Path.Combine(cpDir, ClusterCredentials.JoinTokenFile);
            ChildProcess? gateway = null;
            if (s.GatewayPort != 0)
            {
                gateway = ChildProcess.Start("gateway",
                [
                    "gateway", "--server", s.Url, "--token-file", Path.Combine(cpDir, ClusterCredentials.AdminTokenFile),
                    "--listen", s.GatewayUrl, "--domain", "localhost",
                ], Path.Combine(logs, "gateway.log"));
                children.Add(gateway);
                System.Console.WriteLine($"starting gateway on {s.GatewayUrl} (pid {gateway.Pid}) ...");
                using var probe = new HttpClient { BaseAddress = new Uri(s.GatewayUrl), Timeout = TimeSpan.FromSeconds(2) };
                if (!await WaitAsync(async () => (await probe.GetAsync("/")).IsSuccessStatusCode, gateway, TimeSpan.FromSeconds(60), stop.Token))
                    return Failed(gateway, $"the gateway did not start on {s.GatewayUrl} (is the port taken? pick another with --gateway-port)");
            }
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
                    .. (s.GatewayPort != 0 ? new[] { "--gateway", s.GatewayUrl } : []),
                ], Path.Combine(logs, $"node-{i}.log"));
                children.Add(agent);
                System.Console.WriteLine($"starting agent node-{i} (pid {agent.Pid}), service ports {first}-{first + 999}");
            }
            var joined = 0;
            if (!await WaitAsync(async () => (joined = await AliveNodesAsync(http)) >= s.Agents, cp, TimeSpan.FromSeconds(60), stop.Token))
                return Failed(children.FirstOrDefault(c => c.HasExited) ?? cp, $"only {joined} of {s.Agents} agents joined");
            var drivers = await DriversAsync(http, s.Docker == "off");

            var config = WriteCliConfig(s.Url, Path.Combine(cpDir, ClusterCredentials.AdminTokenFile));
            System.Console.WriteLine($"""

                local cluster ready: {s.Agents} node(s)
                  API:         {s.Url}
                  admin token: {Path.Combine(cpDir, ClusterCredentials.AdminTokenFile)}
                  join token:  {joinFile}
                  CLI config:  {config} (vcluster uses it when no --server/--token is given)
                  logs:        {logs}
                  drivers:     {drivers}
                  gateway:     {(s.GatewayPort != 0 ? $"http://<service>.localhost:{s.GatewayPort}/" : "none (--gateway-port 0)")}
                try: dotnet run --project src/VirtualCluster.Cli -- deploy samples/specs/hello.json{(s.GatewayPort != 0 ? $"\n     curl http://hello.localhost:{s.GatewayPort}/" : "")}
                press Ctrl+C to stop
                """);
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

    private static int Failed(ChildProcess child, string what)
    {
        System.Console.Error.WriteLine($"error: {what}. Last lines of {child.LogPath}:\n{child.Tail()}");
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

    private static async Task<int> AliveNodesAsync(HttpClient http)
    {
        var nodes = await http.GetFromJsonAsync<List<NodeView>>("/v1/nodes", VirtualClusterJson.Options) ?? [];
        return nodes.Count(n => n.Node.State == NodeState.Alive);
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
    private static string WriteCliConfig(string url, string tokenFile)
    {
        var path = Environment.GetEnvironmentVariable("VCLUSTER_CONFIG") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".vcluster", "config.json");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(new { server = url, tokenFile }, new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }
}
