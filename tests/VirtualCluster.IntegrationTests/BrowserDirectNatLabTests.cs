using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Issue 14's browser-direct proof on the NAT lab: a service that opts in ("browserDirect": true) is loaded by a real
/// Chromium in another home over a WebRTC data channel straight to the node behind NAT; the gateway serves the
/// bootstrap page, the service worker and the signaling, and proxies not one request (its counter for the service stays
/// at zero, and its own link to the node carries none of the download); the browser's link reaches that service's port
/// and no other; malformed signaling is refused with a clear error. Positive controls in the same run: when UDP is
/// blocked in the browser's home, the open page's link drops and its next request goes through the gateway, and the
/// same page loaded anew comes through the gateway; the counter rises both times.
/// </summary>
[Trait("Category", "NAT")]
public sealed class BrowserDirectNatLabTests(ITestOutputHelper output)
{
    private const long DownloadBytes = 10L * 1024 * 1024;
    private static readonly TimeSpan BrowserTimeout = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan LinkTimeout = TimeSpan.FromSeconds(120);

    [NatLabFact]
    public async Task A_browser_loads_an_opted_in_service_over_a_data_channel_to_its_node_and_through_the_gateway_without_UDP()
    {
        await using var lab = await NatGatewayLab.StartAsync();
        try
        {
            await lab.WaitForPathsAsync(new Dictionary<string, string> { ["node-a"] = "direct" }, LinkTimeout);
            var view = await lab.DeployHelloAsync("hello", home: "home-a", browserDirect: true);
            // A service beside it on the same node that did not opt in: a browser must not reach its port.
            await lab.DeployHelloAsync("other", home: "home-a");
            var (node, instance) = (view.Instances[0].NodeName, view.Instances[0].Instance.Id);
            var url = lab.StableUrl("hello");
            var origin = url.TrimEnd('/');
            // Waited for on the gateway's own endpoint, not with a request to the service: the proxy must answer none.
            await Wait.UntilAsync(async () => (await ServiceRouteAsync(lab)).GetProperty("endpoints").GetArrayLength() == 1,
                TimeSpan.FromSeconds(30), "the gateway to route hello");
            await Wait.UntilAsync(async () => (await RouteAsync(lab, "other")).GetProperty("endpoints").GetArrayLength() == 1,
                TimeSpan.FromSeconds(30), "the gateway to route other");
            var otherPort = (await RouteAsync(lab, "other")).GetProperty("endpoints")[0].GetProperty("port").GetInt32();
            Assert.Equal(0, await ProxiedAsync(lab));
            var linkBefore = (await lab.LinksAsync())[node];

            // Direct: the page, then a 10 MB download, all over data channels from the browser to node-a.
            var directLoad = Stopwatch.StartNew();
            await using (var browser = await lab.StartBrowserAsync(url, origin))
            {
                Assert.Equal($"hello from {instance} on {node}", await FrameTextAsync(browser, "hello from"));
                directLoad.Stop();
                var state = await StateAsync(browser);
                output.WriteLine($"direct: page in {directLoad.ElapsedMilliseconds} ms (link up in {state["connectMs"]} ms); state {state.ToJsonString()}");
                Assert.Equal("direct", (string?)state["state"]);
                var download = await DownloadAsync(browser);
                output.WriteLine($"direct: {DownloadBytes:N0} bytes in {download} ms = {Mbps(download):0.0} Mbit/s");
                output.WriteLine($"the page's log: {(await browser.EvaluateAsync("window.vcDirect.log.join('\\n')", BrowserTimeout))}");
                state = await StateAsync(browser);
                Assert.Equal("direct", (string?)state["state"]);
                Assert.True((int)state["served"]! >= 2, $"the page served {state["served"]} requests over data channels");
                Assert.Equal(0, (int)state["fellBack"]!);
                Assert.Equal(0, await ProxiedAsync(lab));
                var linkAfter = (await lab.LinksAsync())[node];
                output.WriteLine($"gateway's link to {node} while the browser went direct: {linkBefore} -> {linkAfter}");
                Assert.True(linkAfter.BytesReceived - linkBefore.BytesReceived < DownloadBytes / 10, "the download went over the gateway's link to the node");

                // The browser's link reaches hello's port only: a channel to the other service's port on the same node
                // is refused by the agent (the positive control is every request above, on hello's port).
                var refused = await ChannelAnswerAsync(browser, otherPort);
                output.WriteLine($"a channel to other's port {otherPort}: {refused}");
                Assert.StartsWith("refused: ", refused);
                Assert.Contains($"port {otherPort}", refused);
                // Malformed signaling gets a clear error frame, not a relay.
                var malformed = await SignalingErrorAsync(browser, "this is not JSON");
                output.WriteLine($"malformed signaling: {malformed}");
                Assert.StartsWith("malformed: not JSON", malformed);
                Assert.StartsWith("malformed: a candidate before the offer", await SignalingErrorAsync(browser, """{"type":"candidate","candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host"}"""));

                // The direct link drops (no more UDP for the browser's home): the open page goes on through the gateway.
                lab.Lab.BlockUdp(NatGatewayLab.ClientHome);
                await Wait.UntilAsync(async () => (string?)(await StateAsync(browser))["state"] == "gateway", TimeSpan.FromSeconds(60),
                    "the page to notice that its direct link dropped");
                output.WriteLine($"after the link dropped: {(await StateAsync(browser)).ToJsonString()}");
                var proxiedBefore = await ProxiedAsync(lab);
                Assert.Equal($"hello from {instance} on {node}\n", await browser.EvaluateAsync(
                    "(async () => await (await document.getElementById('vc-app').contentWindow.fetch('/', { cache: 'no-store' })).text())()", BrowserTimeout) is { } t ? (string?)t : null);
                Assert.True(await ProxiedAsync(lab) > proxiedBefore, "after the link dropped, the request did not go through the gateway");
            }

            // Positive control: no UDP for the browser's home, so no data channel; the same page comes through the gateway.
            var proxiedBeforeLoad = await ProxiedAsync(lab);
            var gatewayLoad = Stopwatch.StartNew();
            await using (var browser = await lab.StartBrowserAsync(url, origin))
            {
                Assert.Equal($"hello from {instance} on {node}", await FrameTextAsync(browser, "hello from"));
                gatewayLoad.Stop();
                var state = await StateAsync(browser);
                output.WriteLine($"without UDP: page in {gatewayLoad.ElapsedMilliseconds} ms; state {state.ToJsonString()}");
                Assert.Equal("gateway", (string?)state["state"]);
                var proxiedPage = await ProxiedAsync(lab);
                Assert.True(proxiedPage > proxiedBeforeLoad, "the gateway proxied nothing: the page did not come through it");
                var download = await DownloadAsync(browser);
                output.WriteLine($"through the gateway: {DownloadBytes:N0} bytes in {download} ms = {Mbps(download):0.0} Mbit/s");
                Assert.True(await ProxiedAsync(lab) > proxiedPage, "the download did not go through the gateway");
                Assert.Equal(0, (int)(await StateAsync(browser))["served"]!);
            }
        }
        catch
        {
            output.WriteLine(lab.Diagnostics());
            throw;
        }
    }

    private static double Mbps(long ms) => DownloadBytes * 8 / 1e6 / (ms / 1000.0);

    private static async Task<JsonElement> ServiceRouteAsync(NatGatewayLab lab) =>
        (await lab.GatewayJsonAsync("/v1/gateway/routes")).GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "hello");

    private static async Task<long> ProxiedAsync(NatGatewayLab lab) => (await ServiceRouteAsync(lab)).GetProperty("proxiedRequests").GetInt64();

    private static async Task<JsonElement> RouteAsync(NatGatewayLab lab, string service) =>
        (await lab.GatewayJsonAsync("/v1/gateway/routes")).GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == service);

    /// <summary>What the node answers when the page's link opens a channel to <paramref name="port"/> ("ok" or "refused: ...").</summary>
    private static async Task<string> ChannelAnswerAsync(Chromium browser, int port) =>
        (string?)await browser.EvaluateAsync($$"""
            new Promise(resolve => {
              const c = window.vcDirect.pc.createDataChannel('tcp/{{port}}');
              c.onmessage = e => { resolve(String(e.data)); c.close(); };
              c.onclose = () => resolve('closed without an answer');
              setTimeout(() => resolve('no answer in 20 s'), 20000);
            })
            """, BrowserTimeout) ?? "";

    /// <summary>The error frame the gateway's signaling answers <paramref name="frame"/> with ("code: message").</summary>
    private static async Task<string> SignalingErrorAsync(Chromium browser, string frame) =>
        (string?)await browser.EvaluateAsync($$"""
            new Promise(resolve => {
              const ws = new WebSocket(`ws://${location.host}/.vc/direct/signal`);
              ws.onopen = () => ws.send({{JsonSerializer.Serialize(frame)}});
              ws.onmessage = e => { const m = JSON.parse(e.data); if (m.type === 'error') { resolve(m.code + ': ' + m.message); ws.close(); } };
              ws.onclose = e => resolve('closed: ' + e.code);
              setTimeout(() => resolve('no answer in 20 s'), 20000);
            })
            """, BrowserTimeout) ?? "";

    private static async Task<JsonObject> StateAsync(Chromium browser) =>
        (await browser.EvaluateAsync("(({ state, served, fellBack, error, connectMs, pageLoadedMs, frameMs }) => ({ state, served, fellBack, error, connectMs, pageLoadedMs, frameMs }))(window.vcDirect)", BrowserTimeout))!.AsObject();

    /// <summary>The app frame's text once it contains <paramref name="expected"/>.</summary>
    private static async Task<string> FrameTextAsync(Chromium browser, string expected)
    {
        var text = "";
        await Wait.UntilAsync(async () =>
        {
            try
            {
                text = (string?)await browser.EvaluateAsync(
                    "(() => { const d = document.getElementById('vc-app')?.contentDocument; return d && d.readyState === 'complete' && d.body ? d.body.innerText : ''; })()",
                    TimeSpan.FromSeconds(10)) ?? "";
            }
            catch (InvalidOperationException)
            {
                return false; // navigating
            }
            return text.Contains(expected, StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(90), $"the app frame to show \"{expected}\" (it shows \"{text}\")");
        return text.Trim();
    }

    /// <summary>The app frame downloads /bytes/n and checks every byte; returns the milliseconds it took.</summary>
    private static async Task<long> DownloadAsync(Chromium browser)
    {
        var script = $$"""
            (async () => {
              const w = document.getElementById('vc-app').contentWindow;
              const started = performance.now();
              const r = await w.fetch('/bytes/{{DownloadBytes}}', { cache: 'no-store' });
              const b = new Uint8Array(await r.arrayBuffer());
              const ms = Math.round(performance.now() - started);
              let bad = -1;
              for (let i = 0; i < b.length; i++) if (b[i] !== i % 251) { bad = i; break; }
              return { status: r.status, length: b.length, firstBad: bad, ms };
            })()
            """;
        var result = (await browser.EvaluateAsync(script, BrowserTimeout))!.AsObject();
        Assert.Equal(200, (int)result["status"]!);
        Assert.Equal(DownloadBytes, (long)result["length"]!);
        Assert.Equal(-1, (int)result["firstBad"]!);
        return (long)result["ms"]!;
    }
}
