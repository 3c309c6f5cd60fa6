using System.Net;
using System.Text.Json;
using VirtualCluster.Api;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>
/// A cluster on the NAT lab (<see cref="NatLab"/>, namespaces named "vcgwnat-&lt;pid&gt;-..."): the control plane,
/// the gateway and coturn in the "public" namespace (203.0.113.1); node-a in home-a behind a port-restricted cone
/// NAT and node-b in home-b behind a symmetric NAT, each an agent (process runtime) with no inbound port, reaching
/// the control plane and the gateway by dialing out; a third home, "client", for the browser. The test process
/// talks to each namespace through sockets made inside it (<see cref="NetnsSockets"/>). Disposing kills every process
/// and deletes every namespace and the temp directory, whatever state the test left.
/// </summary>
internal sealed class NatGatewayLab : IAsyncDisposable
{
    public const string Prefix = "vcgwnat-";
    public const string Domain = "vc.test";
    public const string ClientHome = "client";
    public static readonly IPAddress PublicAddress = IPAddress.Parse(NatLab.PublicAddress);

    /// <summary>Node name to home: each agent behind its own kind of NAT.</summary>
    public static readonly IReadOnlyDictionary<string, string> NodeHomes = new Dictionary<string, string> { ["node-a"] = "home-a", ["node-b"] = "home-b" };

    private readonly List<TestProcess> _processes = [];

    private NatGatewayLab(NatLab lab, string directory)
    {
        Lab = lab;
        Directory = directory;
    }

    public NatLab Lab { get; }
    public string Directory { get; }
    public int ApiPort { get; private set; }
    public int GatewayPort { get; private set; }
    public string AdminToken { get; private set; } = "";
    public TestProcess ControlPlane { get; private set; } = null!;
    public TestProcess Gateway { get; private set; } = null!;
    public Dictionary<string, TestProcess> Agents { get; } = new(StringComparer.Ordinal);
    public string ApiUrl => $"http://{NatLab.PublicAddress}:{ApiPort}";
    public string GatewayUrl => $"http://{NatLab.PublicAddress}:{GatewayPort}";

    /// <summary>The stable URL of a service, as a browser anywhere would type it.</summary>
    public string StableUrl(string service, string path = "/") => $"http://{service}.{Domain}:{GatewayPort}{path}";

    /// <summary>Why this lab cannot run here (not root, a tool missing), or null.</summary>
    public static string? UnavailableReason() => NatLab.UnavailableReason() ?? Chromium.UnavailableReason();

    /// <summary>
    /// Builds the lab, lets <paramref name="configure"/> change it before any agent starts (e.g. block UDP for a
    /// home), then starts the control plane, the gateway and both agents and waits until both agents are alive and
    /// hold a tunnel to the gateway.
    /// </summary>
    public static async Task<NatGatewayLab> StartAsync(Action<NatLab>? configure = null)
    {
        var lab = await NatLab.CreateAsync([("home-a", NatType.PortRestrictedCone), ("home-b", NatType.Symmetric), (ClientHome, NatType.PortRestrictedCone)], Prefix);
        var stack = new NatGatewayLab(lab, System.IO.Directory.CreateTempSubdirectory("vcgwnat-").FullName);
        try
        {
            configure?.Invoke(lab);
            await stack.StartProcessesAsync();
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessesAsync()
    {
        var pub = Lab.PublicNamespace;
        ApiPort = NetnsSockets.FreePort(pub, PublicAddress);
        GatewayPort = NetnsSockets.FreePort(pub, PublicAddress);
        var cp = Path.Combine(Directory, "cp");
        ControlPlane = Track(TestProcess.StartDotnet(RepoPaths.HostDll,
            ["control-plane", "--data-dir", cp, "--listen", ApiUrl, "--gateway-url", $"http://{{service}}.{Domain}:{GatewayPort}/",
             // the lab's coturn as the cluster's STUN and TURN server, for the peer links between the gateway and the agents
             "--ice-server", $"stun:{NatLab.PublicAddress}:{NatLab.TurnPort}", "--ice-server", $"turn:{NatLab.PublicAddress}:{NatLab.TurnPort}?transport=udp",
             "--turn-user", Coturn.User, "--turn-password", Coturn.Password], netns: pub));
        var tokenFile = Path.Combine(cp, "admin.token");
        await Wait.UntilAsync(() => Task.FromResult(File.Exists(tokenFile) || ControlPlane.HasExited), TimeSpan.FromSeconds(60), "admin.token");
        AdminToken = (await File.ReadAllTextAsync(tokenFile)).Trim();
        using (var api = Api()) await Wait.UntilAsync(api.HealthyAsync, TimeSpan.FromSeconds(60), "control plane health");

        Gateway = Track(TestProcess.StartDotnet(RepoPaths.HostDll,
            ["gateway", "--server", ApiUrl, "--token-file", tokenFile, "--listen", GatewayUrl, "--domain", Domain], netns: pub));
        var index = 0;
        foreach (var (node, home) in NodeHomes)
        {
            var first = 20000 + index++ * 1000;
            Agents[node] = Track(TestProcess.StartDotnet(RepoPaths.HostDll,
            [
                "agent", "--server", ApiUrl, "--join-token-file", Path.Combine(cp, "join.token"), "--name", node,
                "--data-dir", Path.Combine(Directory, node), "--ports", $"{first}-{first + 999}", "--docker", "off",
                "--address", Lab.Homes[home].HostAddress, "--label", $"home={home}", "--gateway", GatewayUrl,
            ], netns: Lab.Homes[home].Namespace));
        }
        using (var api = Api())
            await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Count(n => n.Node.State == NodeState.Alive) == NodeHomes.Count,
                TimeSpan.FromSeconds(90), "both agents to join");
        await Wait.UntilAsync(async () => (await TunnelsAsync()).Count == NodeHomes.Count, TimeSpan.FromSeconds(90), "both agents' tunnels to the gateway");
    }

    private TestProcess Track(TestProcess process)
    {
        _processes.Add(process);
        return process;
    }

    /// <summary>The control plane's API, reached inside the public namespace.</summary>
    public ApiClient Api() => new(ApiUrl, AdminToken, NetnsSockets.Handler(Lab.PublicNamespace));

    /// <summary>HTTP from the client home, every host name sent to the gateway's address (as the browser is told to).</summary>
    public HttpClient ClientHttp(TimeSpan? timeout = null) =>
        new(NetnsSockets.Handler(Lab.Homes[ClientHome].Namespace, PublicAddress)) { Timeout = timeout ?? TimeSpan.FromSeconds(10) };

    /// <summary>The gateway's own JSON endpoint (e.g. /v1/gateway/routes), asked from the client home.</summary>
    public async Task<JsonElement> GatewayJsonAsync(string path)
    {
        using var http = ClientHttp(TimeSpan.FromSeconds(3));
        using var doc = JsonDocument.Parse(await http.GetStringAsync(GatewayUrl + path));
        return doc.RootElement.Clone();
    }

    /// <summary>Node ids with a tunnel up, from the gateway's /v1/gateway/routes.</summary>
    public async Task<List<string>> TunnelsAsync() =>
        [.. (await GatewayJsonAsync("/v1/gateway/routes")).GetProperty("tunnels").EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>The gateway's /v1/gateway/links, keyed by node name (the gateway reports node ids).</summary>
    public async Task<Dictionary<string, GatewayLink>> LinksAsync()
    {
        using var api = Api();
        var names = (await api.StatusAsync()).Nodes.ToDictionary(n => n.Node.Id, n => n.Node.Name, StringComparer.Ordinal);
        var links = await GatewayJsonAsync("/v1/gateway/links");
        return links.EnumerateArray().Select(GatewayLink.From)
            .ToDictionary(l => names.GetValueOrDefault(l.Node, l.Node), StringComparer.Ordinal);
    }

    /// <summary>Waits until the gateway reaches each named node by the given path; returns the links then.</summary>
    public async Task<Dictionary<string, GatewayLink>> WaitForPathsAsync(IReadOnlyDictionary<string, string> paths, TimeSpan timeout)
    {
        Dictionary<string, GatewayLink> links = [];
        await Wait.UntilAsync(async () =>
        {
            links = await LinksAsync();
            return paths.All(p => links.TryGetValue(p.Key, out var l) && l.Path == p.Value);
        }, timeout, "the gateway's links to be " + string.Join(", ", paths.Select(p => $"{p.Key} {p.Value}"))
            + " (last: " + string.Join(", ", links.Select(l => $"{l.Key} {l.Value.Path}/{l.Value.State} {l.Value.LastError}")) + ")");
        return links;
    }

    /// <summary>Deploys one HelloService instance as <paramref name="name"/>, on <paramref name="home"/> when given; waits until it runs.</summary>
    public async Task<ServiceView> DeployHelloAsync(string name, string? home = null, bool browserDirect = false)
    {
        var constraints = (home is null ? "" : $$""", "placement": { "constraints": { "home": "{{home}}" } }""")
            + (browserDirect ? ", \"browserDirect\": true" : "");
        var spec = $$"""
            { "name": "{{name}}", "command": "dotnet", "args": ["{{RepoPaths.HelloDll}}"], "replicas": 1,
              "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http" }], "env": { "GREETING": "hello" },
              "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s", "gracePeriod": "60s" }{{constraints}} }
            """;
        using var api = Api();
        // A loaded CI machine may take longer than the API client's 5 s to place a service.
        using var post = new HttpClient(NetnsSockets.Handler(Lab.PublicNamespace)) { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        post.DefaultRequestHeaders.Authorization = api.Http.DefaultRequestHeaders.Authorization;
        using var response = await post.PostAsync("/v1/services", new StringContent(spec, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await api.WaitRunningAsync(name, TimeSpan.FromSeconds(120));
    }

    /// <summary>The machine dies: every process in the node's home (the agent and its instances) is frozen, then SIGKILLed.</summary>
    public int KillNode(string node) => NatLab.KillProcesses(Lab.Homes[NodeHomes[node]].Namespace);

    /// <summary>Headless Chromium in the client home on <paramref name="url"/>, resolving *.vc.test to the gateway.</summary>
    /// <param name="url">The page to open.</param>
    /// <param name="secureOrigin">An http:// origin Chromium treats as secure (service workers need a secure context; the lab has no HTTPS).</param>
    public Task<Chromium> StartBrowserAsync(string url, string? secureOrigin = null)
    {
        var netns = Lab.Homes[ClientHome].Namespace;
        string[] flags = secureOrigin is null
            ? [$"--host-resolver-rules=MAP *.{Domain} {NatLab.PublicAddress}"]
            : [$"--host-resolver-rules=MAP *.{Domain} {NatLab.PublicAddress}", $"--unsafely-treat-insecure-origin-as-secure={secureOrigin}"];
        return Chromium.StartAsync(url, TimeSpan.FromSeconds(60), netns, flags,
            (context, ct) => NetnsSockets.ConnectAsync(netns, new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port), ct));
    }

    /// <summary>The last lines of every process's output, for a failed test.</summary>
    public string Diagnostics()
    {
        var text = new System.Text.StringBuilder();
        foreach (var (name, process) in new[] { ("control plane", ControlPlane), ("gateway", Gateway) }.Concat(Agents.Select(a => (a.Key, a.Value))))
            if (process is not null) text.AppendLine($"--- {name}").AppendLine(string.Join('\n', process.Output.Split('\n').TakeLast(120)));
        return text.ToString();
    }

    public ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            try { process.Dispose(); } catch (Exception) { }
        }
        // Instances and anything else still running in a namespace die with the lab.
        Lab.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
