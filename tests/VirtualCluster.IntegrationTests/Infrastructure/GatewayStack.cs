using System.Text.Json;
using VirtualCluster.Api;

namespace VirtualCluster.IntegrationTests.Infrastructure;

/// <summary>A <see cref="ManualCluster"/> whose agents keep tunnels to a gateway process started beside it.</summary>
internal sealed class GatewayStack : IAsyncDisposable
{
    private GatewayStack(ManualCluster cluster, TestProcess gateway, int port)
    {
        Cluster = cluster;
        Gateway = gateway;
        Port = port;
    }

    public ManualCluster Cluster { get; }
    public TestProcess Gateway { get; }
    public int Port { get; }

    /// <param name="agentArgs">More flags per agent (1-based), e.g. --p2p off.</param>
    /// <param name="gatewayArgs">More flags for the gateway.</param>
    /// <param name="agentGateways">The agents' --gateway value given this gateway's URL (default: that URL alone).</param>
    public static async Task<GatewayStack> StartAsync(int agents, Func<int, IEnumerable<string>>? agentArgs = null, IEnumerable<string>? gatewayArgs = null,
        Func<string, string>? agentGateways = null)
    {
        var port = Wait.FreePort();
        var gatewayUrl = $"http://127.0.0.1:{port}";
        var cluster = await ManualCluster.StartAsync(agents, i => ["--gateway", agentGateways?.Invoke(gatewayUrl) ?? gatewayUrl, .. agentArgs?.Invoke(i) ?? []]);
        TestProcess? gateway = null;
        try
        {
            gateway = TestProcess.StartDotnet(RepoPaths.HostDll,
                ["gateway", "--server", cluster.Url, "--token-file", Path.Combine(cluster.Directory, "cp", "admin.token"), "--listen", gatewayUrl,
                 "--ca-fingerprint", TestTls.ReadFingerprint(Path.Combine(cluster.Directory, "cp")), .. gatewayArgs ?? []]);
            var stack = new GatewayStack(cluster, gateway, port);
            await Wait.UntilAsync(async () => (await stack.TunnelsAsync()).Count == agents, TimeSpan.FromSeconds(90), $"{agents} agent tunnels to the gateway");
            return stack;
        }
        catch
        {
            gateway?.Dispose();
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Node ids with a tunnel up, from the gateway's own /v1/gateway/routes.</summary>
    public async Task<List<string>> TunnelsAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{Port}/v1/gateway/routes"));
        return doc.RootElement.GetProperty("tunnels").EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    /// <summary>Deploys HelloService as <paramref name="name"/>; replicas on distinct nodes; waits until all run.</summary>
    public async Task<ServiceView> DeployHelloAsync(string name, int replicas)
    {
        var spec = $$"""
            { "name": "{{name}}", "command": "dotnet", "args": ["{{RepoPaths.HelloDll}}"], "replicas": {{replicas}},
              "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http" }], "env": { "GREETING": "hello" },
              "placement": { "antiAffinity": "required" },
              "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s", "gracePeriod": "60s" } }
            """;
        using var api = Cluster.Api();
        // A loaded CI machine may take longer than the API client's 5 s to place a service.
        using var post = new HttpClient(TestTls.Handler(api.Http.BaseAddress!.ToString())) { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        post.DefaultRequestHeaders.Authorization = api.Http.DefaultRequestHeaders.Authorization;
        using var response = await post.PostAsync("/v1/services", new StringContent(spec, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var view = await api.WaitRunningAsync(name, TimeSpan.FromSeconds(120));
        // Running is the control plane's view; the gateway sees healthy endpoints on its next route poll. Tests start
        // once the stable URL answers, so none races that poll.
        using var client = new GatewayClient(Port, TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(async () => (await client.GetAsync(name)).Status == 200, TimeSpan.FromSeconds(60), $"{name} to answer through the gateway");
        return view;
    }

    /// <summary>The gateway's GET /v1/gateway/links, one entry per node.</summary>
    public async Task<List<LinkView>> LinksAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        var text = await http.GetStringAsync($"http://127.0.0.1:{Port}/v1/gateway/links");
        return JsonSerializer.Deserialize<List<LinkView>>(text, VirtualClusterJson.Options)!;
    }

    /// <summary>Waits until <paramref name="node"/>'s entry in /v1/gateway/links satisfies <paramref name="condition"/>.</summary>
    public async Task<LinkView> WaitLinkAsync(string node, Func<LinkView, bool> condition, string what, TimeSpan? timeout = null)
    {
        LinkView? last = null;
        try
        {
            await Wait.UntilAsync(async () =>
            {
                last = (await LinksAsync()).FirstOrDefault(l => l.Node == node);
                return last is not null && condition(last);
            }, timeout ?? TimeSpan.FromSeconds(60), what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last /v1/gateway/links entry: {last?.ToString() ?? "none"}");
        }
        return last!;
    }

    public string Diagnostics() => "--- gateway\n" + string.Join('\n', Gateway.Output.Split('\n').TakeLast(100));

    public async ValueTask DisposeAsync()
    {
        Gateway.Dispose();
        await Cluster.DisposeAsync();
    }
}

/// <summary>One row of GET /v1/gateway/links.</summary>
internal sealed record LinkView(string Node, string Path, string State, double? RttMs, long BytesSent, long BytesReceived,
    DateTimeOffset? Since, string? LastError, long Dials, long TunnelDials);
