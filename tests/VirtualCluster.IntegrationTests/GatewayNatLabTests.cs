using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>A test on the NAT lab: needs root, ip, iptables, coturn and chromium. Skipped with the reason otherwise; CI runs it as root.</summary>
public sealed class NatLabFactAttribute : FactAttribute
{
    public NatLabFactAttribute()
    {
        if (NatGatewayLab.UnavailableReason() is { } reason) Skip = reason;
    }
}

/// <summary>
/// Issue 13's proof on the NAT lab: services on machines behind NATs with no inbound port, reached by a real browser
/// on another network at the cluster's stable URL through the gateway; the URL survives the death of the machine
/// running the service; a home without UDP still reaches the gateway over the agent's TCP tunnel.
/// </summary>
[Trait("Category", "NAT")]
public sealed class GatewayNatLabTests(ITestOutputHelper output)
{
    private const long DownloadBytes = 50L * 1024 * 1024;
    private static readonly TimeSpan BrowserTimeout = TimeSpan.FromSeconds(180);
    // ICE through the lab's NATs takes seconds; a failed attempt (no UDP) takes ICE's failure timeout.
    private static readonly TimeSpan LinkTimeout = TimeSpan.FromSeconds(120);

    [NatLabFact]
    public async Task A_browser_on_another_network_reaches_a_service_behind_NAT_and_again_after_its_node_dies()
    {
        await using var lab = await NatGatewayLab.StartAsync();
        await WithDiagnostics(lab, async () =>
        {
            // The gateway has a public address, so both NATs open a direct path to it: the cone NAT's mapping is the
            // agent's server-reflexive candidate, the symmetric NAT's a new one the gateway learns from the checks.
            // Waited for before any request, so that no request (and no pooled connection) can take the tunnel.
            var before = await lab.WaitForPathsAsync(new Dictionary<string, string> { ["node-a"] = "direct", ["node-b"] = "direct" }, LinkTimeout);
            var view = await lab.DeployHelloAsync("hello");
            var url = lab.StableUrl("hello");
            Assert.Equal(url, view.Url); // the URL the control plane hands out is the one that works
            var (node, instance) = (view.Instances[0].NodeName, view.Instances[0].Instance.Id);
            using var http = lab.ClientHttp();
            await Wait.UntilAsync(async () => (await http.GetAsync(url)).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "the stable URL to answer");

            await using var browser = await lab.StartBrowserAsync(url);
            Assert.Equal($"hello from {instance} on {node}", await PageTextAsync(browser, "hello from"));
            await AssertWebSocketEchoAsync(browser);
            await AssertDownloadAsync(browser, DownloadBytes);
            var after = await lab.LinksAsync();
            output.WriteLine($"{node}'s link while the browser used it: {before[node]} -> {after[node]}");
            // Everything went over the peer link's data channels: the download's bytes, and not one tunnel stream.
            Assert.True(after[node].BytesReceived - before[node].BytesReceived >= DownloadBytes, $"the link carried only {after[node].BytesReceived - before[node].BytesReceived} bytes");
            Assert.Equal(before[node].TunnelDials, after[node].TunnelDials);

            var other = NatGatewayLab.NodeHomes.Keys.Single(n => n != node);
            var home = lab.Lab.Homes[NatGatewayLab.NodeHomes[node]].Namespace;
            var sinceKill = System.Diagnostics.Stopwatch.StartNew();
            var killed = lab.KillNode(node);
            output.WriteLine($"killed {killed} processes in {node}'s home (agent and instance) in {sinceKill.Elapsed.TotalSeconds:0.0} s");

            var statuses = new List<string>();
            var body = "";
            await Wait.UntilAsync(async () =>
            {
                var asked = sinceKill.Elapsed.TotalSeconds;
                HttpResponseMessage response;
                try
                {
                    response = await http.GetAsync(url);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // a request that hangs or breaks is a failure the gateway must not cause: it answers 503 while failing over
                    statuses.Add($"{e.GetType().Name}@{asked:0.0}-{sinceKill.Elapsed.TotalSeconds:0.0}s");
                    return false;
                }
                using var _ = response;
                statuses.Add($"{(int)response.StatusCode}@{asked:0.0}-{sinceKill.Elapsed.TotalSeconds:0.0}s");
                body = await response.Content.ReadAsStringAsync();
                return response.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(90), "the stable URL to answer again after the node died");
            output.WriteLine($"after the kill (status@asked-answered): {string.Join(", ", statuses.Count <= 6 ? statuses : [.. statuses.Take(3), $"... {statuses.Count - 5} more ...", .. statuses.TakeLast(2)])}; then {body.Trim()}");
            Assert.EndsWith($" on {other}\n", body);
            await Wait.UntilAsync(() => Task.FromResult(NatLab.Pids(home).Count == 0), TimeSpan.FromSeconds(30), $"nothing left running in {node}'s home");
            output.WriteLine($"{node}'s home empty {sinceKill.Elapsed.TotalSeconds:0.0} s after the kill");
            Assert.All(statuses.SkipLast(1), s => Assert.StartsWith("503@", s)); // "failing over", never a bare error

            // The same page in the same browser, reloaded, comes from the other node, over its direct link.
            var beforeReload = (await lab.LinksAsync())[other];
            await browser.EvaluateAsync("location.reload()", BrowserTimeout);
            Assert.EndsWith($" on {other}", await PageTextAsync(browser, $" on {other}"));
            await AssertWebSocketEchoAsync(browser);
            var afterReload = (await lab.LinksAsync())[other];
            output.WriteLine($"{other}'s link after the failover: {beforeReload} -> {afterReload}");
            Assert.Equal("direct", afterReload.Path);
            // the echo's 300 KB binary message came back over the link (connections to instances are pooled, so count bytes, not dials)
            Assert.True(afterReload.BytesReceived - beforeReload.BytesReceived >= 300_000, "the page and the echo did not go over the other node's link");
            Assert.Equal(before[other].TunnelDials, afterReload.TunnelDials);
        });
    }

    [NatLabFact]
    public async Task With_UDP_blocked_in_its_home_a_service_is_reached_through_the_TCP_tunnel()
    {
        await using var lab = await NatGatewayLab.StartAsync(l => l.BlockUdp("home-b"));
        await WithDiagnostics(lab, async () =>
        {
            await AssertUdpBlockedAsync(lab, blocked: "home-b", open: "home-a");
            // node-b's link was tried and failed (no UDP), so the gateway reaches it through the tunnel; node-a, in the
            // same lab with UDP, is the positive control: its link is direct.
            Dictionary<string, GatewayLink> before = [];
            await Wait.UntilAsync(async () =>
            {
                before = await lab.LinksAsync();
                return before.GetValueOrDefault("node-a")?.Path == "direct" && before.GetValueOrDefault("node-b") is { Path: "tunnel", LastError: not null };
            }, LinkTimeout, "node-a's link to be direct and node-b's to have failed, leaving the tunnel");
            output.WriteLine($"links: {string.Join("; ", before.Select(l => $"{l.Key}: {l.Value}"))}");
            var view = await lab.DeployHelloAsync("hello", home: "home-b");
            Assert.Equal("node-b", view.Instances[0].NodeName);
            var url = lab.StableUrl("hello");
            using var http = lab.ClientHttp();
            await Wait.UntilAsync(async () => (await http.GetAsync(url)).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "the stable URL to answer");

            await using var browser = await lab.StartBrowserAsync(url);
            Assert.Equal($"hello from {view.Instances[0].Instance.Id} on node-b", await PageTextAsync(browser, "hello from"));
            await AssertWebSocketEchoAsync(browser);
            await AssertDownloadAsync(browser, 8L * 1024 * 1024);
            var after = (await lab.LinksAsync())["node-b"];
            output.WriteLine($"node-b after the browser: {after}");
            Assert.Equal("tunnel", after.Path);
            Assert.True(after.TunnelDials > before["node-b"].TunnelDials, "nothing went through node-b's tunnel");
            Assert.Equal(before["node-b"].BytesReceived, after.BytesReceived); // and nothing over a link
        });
    }

    /// <summary>
    /// Datagrams from the blocked home never reach the public network while those of the open home do (the positive
    /// control): each round sends the blocked home's datagram first, so it would have arrived before the open one's.
    /// </summary>
    private async Task AssertUdpBlockedAsync(NatGatewayLab lab, string blocked, string open)
    {
        using var receiver = NetnsSockets.Create(lab.Lab.PublicNamespace, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(NatGatewayLab.PublicAddress, 0));
        using var fromBlocked = NetnsSockets.Create(lab.Lab.Homes[blocked].Namespace, SocketType.Dgram, ProtocolType.Udp);
        using var fromOpen = NetnsSockets.Create(lab.Lab.Homes[open].Namespace, SocketType.Dgram, ProtocolType.Udp);
        const int rounds = 5;
        for (var i = 0; i < rounds; i++)
        {
            await fromBlocked.SendToAsync(Encoding.ASCII.GetBytes(blocked), receiver.LocalEndPoint!);
            await fromOpen.SendToAsync(Encoding.ASCII.GetBytes(open), receiver.LocalEndPoint!);
        }
        var received = new List<string>();
        var buffer = new byte[64];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (received.Count(r => r == open) < rounds)
        {
            var result = await receiver.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            received.Add(Encoding.ASCII.GetString(buffer, 0, result.ReceivedBytes));
        }
        output.WriteLine($"UDP to the public network: {rounds} of {rounds} from {open}, {received.Count(r => r == blocked)} from {blocked}");
        Assert.DoesNotContain(blocked, received);
    }

    /// <summary>The page's text once it contains <paramref name="expected"/> (the browser may still be loading).</summary>
    private static async Task<string> PageTextAsync(Chromium browser, string expected)
    {
        var text = "";
        await Wait.UntilAsync(async () =>
        {
            try
            {
                text = (string?)await browser.EvaluateAsync("document.readyState === 'complete' && document.body ? document.body.innerText : ''", TimeSpan.FromSeconds(10)) ?? "";
            }
            catch (InvalidOperationException) // the page is navigating: its context went away under the call
            {
                return false;
            }
            return text.Contains(expected, StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), $"the page to show \"{expected}\" (it shows \"{text}\")");
        return text.Trim();
    }

    /// <summary>The browser opens a WebSocket to the service's /ws echo and gets back text and binary messages intact.</summary>
    private async Task AssertWebSocketEchoAsync(Chromium browser)
    {
        const string script = """
            (async () => {
              const ws = new WebSocket(`ws://${location.host}/ws`);
              ws.binaryType = 'arraybuffer';
              const replies = [];
              let wake = null;
              ws.onmessage = e => { replies.push(e.data); if (wake) wake(); };
              await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = () => fail(new Error('WebSocket failed to open')); });
              const next = () => replies.length ? Promise.resolve(replies.shift())
                : new Promise((ok, fail) => { wake = () => { wake = null; ok(replies.shift()); }; ws.onclose = () => fail(new Error('closed early')); });
              const big = new Uint8Array(300000);
              for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 256;
              const texts = ['hello through the gateway', 'é🙂'.repeat(20000)];
              for (const t of texts) { ws.send(t); const r = await next(); if (r !== t) return `text of ${t.length} chars came back as ${String(r).length}`; }
              ws.send(big);
              const back = new Uint8Array(await next());
              if (back.length !== big.length) return `binary of ${big.length} bytes came back as ${back.length}`;
              for (let i = 0; i < big.length; i++) if (back[i] !== big[i]) return `binary differs at byte ${i}`;
              ws.close();
              return `ok ${texts.length + 1}`;
            })()
            """;
        var result = (string?)await browser.EvaluateAsync(script, BrowserTimeout);
        output.WriteLine($"WebSocket echo in the browser: {result}");
        Assert.Equal("ok 3", result);
    }

    /// <summary>The browser downloads /bytes/n and checks the length and every byte of HelloService's 0..250 pattern.</summary>
    private async Task AssertDownloadAsync(Chromium browser, long bytes)
    {
        var script = $$"""
            (async () => {
              const started = performance.now();
              const r = await fetch('/bytes/{{bytes}}', { cache: 'no-store' });
              const b = new Uint8Array(await r.arrayBuffer());
              let bad = -1;
              for (let i = 0; i < b.length; i++) if (b[i] !== i % 251) { bad = i; break; }
              return { status: r.status, length: b.length, firstBad: bad, ms: Math.round(performance.now() - started) };
            })()
            """;
        var result = (await browser.EvaluateAsync(script, BrowserTimeout))!.AsObject();
        output.WriteLine($"download of {bytes:N0} bytes in the browser: {result.ToJsonString()}");
        Assert.Equal(200, (int)result["status"]!);
        Assert.Equal(bytes, (long)result["length"]!);
        Assert.Equal(-1, (int)result["firstBad"]!);
    }

    private async Task WithDiagnostics(NatGatewayLab lab, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch
        {
            output.WriteLine(lab.Diagnostics());
            throw;
        }
    }
}
