using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using VirtualCluster.Api;
using VirtualCluster.IntegrationTests.Infrastructure;
using VirtualCluster.P2P.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// The web dashboard (/ui/) in headless Chromium against a control plane and two agents, all real processes: it signs
/// in with a viewer token, shows the nodes and the deployed service, shows a node going down after <c>kill -9</c> of
/// its agent and the NodeDown alert, lays out on a phone's width, and fetches nothing from another origin.
/// Screenshots are kept in artifacts/test-results/dashboard/.
/// </summary>
public sealed class DashboardTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string Screenshots = Path.Combine(RepoPaths.Root, "artifacts", "test-results", "dashboard");

    [Fact]
    public async Task The_dashboard_shows_the_cluster_live_a_node_going_down_and_its_alert()
    {
        if (Chromium.UnavailableReason() is { } reason) throw new InvalidOperationException(reason);
        await using var cluster = await ManualCluster.StartAsync(agents: 2, controlPlaneArgs: ["--alert-interval", "0.5"]);
        await cluster.WithDiagnosticsAsync(output, async () =>
        {
            using var api = cluster.Api();
            await Wait.UntilAsync(async () => (await api.StatusAsync()).Nodes.Count(n => n.Node.State == NodeState.Alive) == 2, Timeout, "both nodes alive");
            var hello = await cluster.DeployHelloAsync("hello", 1);
            var token = await ViewerTokenAsync(api.Http);
            var spki = await ServerSpkiHashAsync(cluster.Url);

            // The browser trusts exactly this control plane's certificate (its key's hash), nothing else.
            await using var browser = await Chromium.StartAsync(cluster.Url + "/ui/", Timeout, extraArgs: [$"--ignore-certificate-errors-spki-list={spki}"]);
            await WaitForPageAsync(browser, "document.getElementById('signin') && !document.getElementById('signin').hidden", "the sign-in form");

            // A wrong token is refused with a message, and the data stays hidden.
            await SubmitTokenAsync(browser, "not-a-token");
            await WaitForPageAsync(browser, "document.getElementById('signin-error').textContent.startsWith('Sign-in failed')", "the refusal of a bad token");
            Assert.True((await browser.EvaluateAsync("document.getElementById('app').hidden", Timeout))!.GetValue<bool>());

            await SubmitTokenAsync(browser, token);
            await WaitForPageAsync(browser, "document.querySelectorAll('#nodes tr[data-node]').length === 2", "two nodes in the table");
            await WaitForPageAsync(browser, "document.querySelector('#services tr[data-service=\"hello\"]')?.dataset.running === '1'", "hello running 1 of 1");
            await WaitForPageAsync(browser, "document.getElementById('live').textContent === 'live'", "the live stream connected");
            Assert.Equal("alive", await TextAsync(browser, "document.querySelector('#nodes tr[data-node=\"node-1\"]').dataset.state"));
            Assert.Contains("viewer", await TextAsync(browser, "document.getElementById('who').textContent"));
            await browser.CaptureScreenshotAsync(Path.Combine(Screenshots, "1-cluster.png"), Timeout);
            // A figure for docs/benchmarks.md, not an assertion: the page's own load (navigation timing) and bytes moved.
            output.WriteLine("dashboard first load: " + (await browser.EvaluateAsync(
                "(() => { const n = performance.getEntriesByType('navigation')[0]; const r = performance.getEntriesByType('resource'); " +
                "return `load event ${n.loadEventEnd.toFixed(0)} ms, DOMContentLoaded ${n.domContentLoadedEventEnd.toFixed(0)} ms, ` + " +
                "`${r.length + 1} requests, ${n.transferSize + r.reduce((a, e) => a + e.transferSize, 0)} bytes transferred`; })()", Timeout))?.GetValue<string>());

            // kill -9 of node-1's agent: the page follows the live stream, no reload.
            var killedAt = DateTime.UtcNow;
            await cluster.KillAgentAsync("node-1");
            await WaitForPageAsync(browser, "document.querySelector('#nodes tr[data-node=\"node-1\"]').dataset.state === 'down'", "node-1 shown down");
            output.WriteLine($"node-1 shown down {(DateTime.UtcNow - killedAt).TotalSeconds:F1} s after the kill (failure detection included)");
            Assert.Equal("alive", await TextAsync(browser, "document.querySelector('#nodes tr[data-node=\"node-2\"]').dataset.state"));
            await WaitForPageAsync(browser, "document.querySelector('#alerts [data-alert=\"NodeDown\"]') !== null", "the NodeDown alert");
            await WaitForPageAsync(browser, "[...document.querySelectorAll('#events li')].some(li => li.dataset.kind === 'node.down')", "node.down in the event log");
            await browser.CaptureScreenshotAsync(Path.Combine(Screenshots, "2-node-down.png"), Timeout);
            if (hello.Instances.Single().NodeName == "node-1")
                await WaitForPageAsync(browser, "document.querySelector('#failovers [data-incident]') !== null", "the failover in the timeline");

            // A phone: nothing wider than the screen but the tables, which scroll inside their box.
            await browser.SetViewportAsync(390, 844, mobile: true, Timeout);
            await WaitForPageAsync(browser, "document.documentElement.scrollWidth <= window.innerWidth + 1", "the page to fit a 390 px wide screen");
            await browser.CaptureScreenshotAsync(Path.Combine(Screenshots, "3-phone.png"), Timeout);

            // Every request the page made went to its own origin (the CSP's connect-src 'self' would refuse others).
            var origins = (await browser.EvaluateAsync(
                "[location.origin, ...performance.getEntriesByType('resource').map(e => new URL(e.name).origin)]", Timeout))!.AsArray()
                .Select(n => n!.GetValue<string>()).ToList();
            Assert.True(origins.Count > 2, "the page made requests (positive control for the check below)");
            Assert.All(origins, o => Assert.Equal(origins[0], o));
        });
    }

    [Fact]
    public async Task The_assets_are_public_and_locked_to_this_origin_and_the_live_stream_checks_its_input()
    {
        await using var cluster = await ManualCluster.StartAsync(agents: 0);
        using var anonymous = new HttpClient(TestTls.Handler(cluster.Url)) { BaseAddress = new Uri(cluster.Url) };

        using (var page = await anonymous.GetAsync("ui/"))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            var csp = page.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("default-src 'none'", csp);
            Assert.Contains("connect-src 'self'", csp);
            Assert.Contains("app.js", await page.Content.ReadAsStringAsync());
            // Revalidation: the same ETag answers 304.
            using var again = new HttpRequestMessage(HttpMethod.Get, "ui/");
            again.Headers.IfNoneMatch.Add(page.Headers.ETag!);
            Assert.Equal(HttpStatusCode.NotModified, (await anonymous.SendAsync(again)).StatusCode);
        }
        using (var compressed = new HttpRequestMessage(HttpMethod.Get, "ui/app.js"))
        {
            compressed.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("br"));
            using var response = await anonymous.SendAsync(compressed);
            Assert.Equal("br", response.Content.Headers.ContentEncoding.Single());
            using var plain = await anonymous.GetAsync("ui/app.js");
            Assert.True(response.Content.Headers.ContentLength < plain.Content.Headers.ContentLength / 2, "Brotli at least halves app.js");
        }
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("ui/nothing-here.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("ui/..%2Fv1%2Fstatus")).StatusCode);
        using (var redirected = await anonymous.GetAsync("ui"))
        {
            Assert.Equal(HttpStatusCode.OK, redirected.StatusCode);
            Assert.EndsWith("/ui/", redirected.RequestMessage!.RequestUri!.AbsolutePath, StringComparison.Ordinal);
        }

        // The data needs a token.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("v1/live")).StatusCode);
        using var api = cluster.Api();
        foreach (var bad in new[] { "interval=0", "interval=61", "interval=abc", "interval=NaN", "every=1" })
        {
            using var refused = await api.Http.GetAsync("v1/live?" + bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(bad.StartsWith("every", StringComparison.Ordinal) ? "unknown parameter" : "interval must be", await refused.Content.ReadAsStringAsync());
        }

        // Positive control: the stream answers with events, then a status.
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/live?interval=1");
        using var live = await api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("text/event-stream", live.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await live.Content.ReadAsStreamAsync());
        var seen = new List<string>();
        using var deadline = new CancellationTokenSource(Timeout);
        while (!seen.Contains("status"))
        {
            var line = await reader.ReadLineAsync(deadline.Token) ?? throw new InvalidOperationException("the live stream ended");
            if (line.StartsWith("event: ", StringComparison.Ordinal)) seen.Add(line["event: ".Length..]);
            if (line.StartsWith("data: {\"nodes\"", StringComparison.Ordinal))
                Assert.NotNull(JsonNode.Parse(line["data: ".Length..])!["services"]);
        }
        Assert.Equal("events", seen[0]);
    }

    private static async Task SubmitTokenAsync(Chromium browser, string token) =>
        await browser.EvaluateAsync($"document.getElementById('token').value = {JsonValue.Create(token)!.ToJsonString()}; document.getElementById('signin-form').requestSubmit(); true", Timeout);

    private static async Task<string> TextAsync(Chromium browser, string expression) =>
        (await browser.EvaluateAsync(expression, Timeout))?.GetValue<string>() ?? "";

    private static async Task WaitForPageAsync(Chromium browser, string condition, string what) =>
        await Wait.UntilAsync(async () => (await browser.EvaluateAsync($"!!({condition})", Timeout))?.GetValue<bool>() == true, Timeout, what + " in the dashboard");

    private static async Task<string> ViewerTokenAsync(HttpClient admin)
    {
        (await admin.PostAsync("v1/users", new StringContent("""{"name":"dash","role":"viewer"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        var response = await admin.PostAsync("v1/users/dash/tokens", new StringContent("""{"ttl":"01:00:00"}""", Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<UserTokenResponse>(VirtualClusterJson.Options))!.Token;
    }

    // Base64 SHA-256 of the server certificate's SubjectPublicKeyInfo, the form Chromium's --ignore-certificate-errors-spki-list takes.
    private static async Task<string> ServerSpkiHashAsync(string url)
    {
        var uri = new Uri(url);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        X509Certificate2? seen = null;
        await using var tls = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
        {
            seen = certificate is null ? null : new X509Certificate2(certificate);
            return true; // only read here; the test's own clients check it against the cluster CA
        });
        await tls.AuthenticateAsClientAsync(uri.Host);
        using var certificate = seen ?? throw new InvalidOperationException("the control plane sent no certificate");
        return Convert.ToBase64String(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
    }
}
