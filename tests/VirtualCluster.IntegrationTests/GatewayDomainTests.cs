using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VirtualCluster.Dns;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Custom domains and certificates shared through the cluster store, with real processes: a control plane, an agent,
/// two standalone gateways and a real Pebble. A small zone served by our own DNS server (VirtualCluster.Dns) maps
/// app.example.test and hello.vc.test to 127.0.0.1 and nothing else; Pebble and both gateways resolve through it.
/// </summary>
public sealed partial class GatewayDomainTests(ITestOutputHelper output)
{
    private const string Domain = "app.example.test";
    private const string Dangling = "missing.example.test"; // the zone has no such name: never verified

    [Fact]
    public async Task A_custom_domain_pointing_here_gets_a_certificate_that_a_second_gateway_serves_without_a_new_order()
    {
        // Checked first: the browser step comes after minutes of cluster start and issuance.
        if (NssHome.UnavailableReason() is { } reason) throw new InvalidOperationException(reason);
        using var dns = new DnsServer(Options.Create(new DnsServerOptions
        {
            Listen = "127.0.0.1:0", Domain = "test", Addresses = ["127.0.0.1"], BurstPerSource = 100_000, QueriesPerSecondPerSource = 100_000,
        }), new Zone("app.example", "hello.vc"), TimeProvider.System, new DnsMetrics(), NullLogger<DnsServer>.Instance);
        await dns.StartAsync(CancellationToken.None);
        var resolver = $"127.0.0.1:{dns.LocalEndPoint!.Port}";
        await using var pebble = new PebbleServer();
        int http1 = Wait.FreePort(), https1 = Wait.FreePort(), http2 = Wait.FreePort(), https2 = Wait.FreePort();
        await using var cluster = await ManualCluster.StartAsync(1, _ => ["--gateway", $"http://127.0.0.1:{http1}"],
            controlPlaneArgs: ["--gateway-url", $"http://{{service}}.vc.test:{http1}/"]);
        TestProcess? first = null, second = null;
        try
        {
            await pebble.StartAsync(http1, dns.LocalEndPoint.Port);
            first = StartGateway(cluster, "edge-1", http1, https1, resolver, pebble);
            await DeployAsync(cluster, "hello", [Domain, Dangling]);

            // The verified domain gets its certificate (HTTP-01 through gateway 1); curl trusting only Pebble's root gets the page.
            var clock = Stopwatch.StartNew();
            await Wait.UntilAsync(async () => (await SourceAsync(http1, Domain)) is not null, TimeSpan.FromSeconds(180), $"gateway 1 to hold a certificate for {Domain}");
            output.WriteLine($"figure: {Domain} verified and issued by Pebble {clock.Elapsed.TotalSeconds:0.0} s after the service ran");
            Assert.Equal("ordered", await SourceAsync(http1, Domain));
            var root = Path.Combine(cluster.Directory, "pebble-root.pem");
            await File.WriteAllTextAsync(root, await pebble.RootPemAsync());
            await CurlHelloAsync(root, https1);
            // A real browser at the custom domain, trusting Pebble's root through its own trust store (and refusing without it).
            await BrowserHttps.AssertLoadsTrustingOnlyAsync($"https://{Domain}:{https1}/", root, "hello from hello-", output);

            // The dangling domain: looked up, not verified, never ordered; the positive control (Domain) was, in the same run.
            var domains = await GetJsonAsync(http1, "/v1/gateway/domains");
            output.WriteLine(domains.RootElement.ToString());
            var checks = domains.RootElement.GetProperty("domains").EnumerateArray().ToDictionary(d => d.GetProperty("name").GetString()!, d => d);
            Assert.True(checks[Domain].GetProperty("verified").GetBoolean());
            Assert.False(checks[Dangling].GetProperty("verified").GetBoolean());
            Assert.Contains("NXDOMAIN", checks[Dangling].GetProperty("problem").GetString());
            Assert.Null(await SourceAsync(http1, Dangling));
            Assert.Contains(Domain, pebble.Output);
            Assert.DoesNotContain(Dangling, pebble.Output);

            // The API (and so `vcluster services`) shows both, with the certificate and the https URL for the verified one.
            using var api = cluster.Api();
            await Wait.UntilAsync(async () => (await api.ServiceAsync("hello"))?.Domains?.FirstOrDefault(d => d.Name == Domain)?.Url is not null,
                TimeSpan.FromSeconds(30), "the API to show the domain's certificate");
            var view = (await api.ServiceAsync("hello"))!;
            var shown = view.Domains!.ToDictionary(d => d.Name);
            Assert.True(shown[Domain].Verified);
            Assert.Equal($"https://{Domain}/", shown[Domain].Url);
            Assert.False(shown[Dangling].Verified);
            Assert.Null(shown[Dangling].Url);
            var cli = await CliRunner.RunAsync(cluster.CliEnv, "services");
            output.WriteLine(cli.Output);
            Assert.Contains(Domain, cli.Output);
            Assert.Contains(Dangling, cli.Output);

            // A second gateway, started afterwards, serves the stored certificates and orders none itself.
            var issuedBefore = Issued(pebble.Output);
            Assert.True(issuedBefore >= 1, $"Pebble's log should count issued certificates (positive control):\n{pebble.Output}");
            clock.Restart();
            second = StartGateway(cluster, "edge-2", http2, https2, resolver, pebble);
            await Wait.UntilAsync(async () => (await SourceAsync(http2, Domain)) is not null, TimeSpan.FromSeconds(60), $"gateway 2 to hold a certificate for {Domain}");
            output.WriteLine($"figure: gateway 2 served the stored certificate {clock.Elapsed.TotalSeconds:0.0} s after its process started; Pebble issued {issuedBefore} certificate(s) in all");
            Assert.Equal("store", await SourceAsync(http2, Domain));
            await CurlHelloAsync(root, https2);
            Assert.Equal(0, (await GetJsonAsync(http2, "/v1/gateway/domains")).RootElement.GetProperty("acmeOrders").GetInt64());
            Assert.Equal(issuedBefore, Issued(pebble.Output));
        }
        catch
        {
            output.WriteLine($"--- pebble\n{pebble.Output}");
            if (first is not null) output.WriteLine($"--- gateway 1\n{first.Output}");
            if (second is not null) output.WriteLine($"--- gateway 2\n{second.Output}");
            throw;
        }
        finally
        {
            second?.Dispose();
            first?.Dispose();
            await dns.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Bad_domains_in_a_spec_get_a_400_that_names_the_field_and_the_fix()
    {
        await using var cluster = await ManualCluster.StartAsync(1, controlPlaneArgs: ["--gateway-url", "http://{service}.vc.test:8080/"]);
        var wildcard = await PostAsync(cluster, Spec("a", "\"*.example.com\""));
        Assert.Equal(400, wildcard.Status);
        Assert.Contains("domains[0]", wildcard.Body);
        Assert.Contains("wildcard", wildcard.Body);

        var underCluster = await PostAsync(cluster, Spec("b", "\"shop.vc.test\""));
        Assert.Equal(400, underCluster.Status);
        Assert.Contains("domains[0]", underCluster.Body);
        Assert.Contains("under the cluster domain vc.test", underCluster.Body);

        var many = await PostAsync(cluster, Spec("c", string.Join(", ", Enumerable.Range(1, 11).Select(i => $"\"s{i}.example.com\""))));
        Assert.Equal(400, many.Status);
        Assert.Contains("at most 10", many.Body);

        // Positive control: a good domain deploys; the same domain in another service is then refused, naming the owner.
        var good = await PostAsync(cluster, Spec("d", "\"shop.example.com\""));
        Assert.True(good.Status is 200 or 201, good.Body);
        var duplicate = await PostAsync(cluster, Spec("e", "\"www.example.com\", \"SHOP.example.com\""));
        Assert.Equal(400, duplicate.Status);
        Assert.Contains("domains[1]", duplicate.Body);
        Assert.Contains("already claimed by service \"d\"", duplicate.Body);
        output.WriteLine(string.Join("\n", wildcard.Body, underCluster.Body, many.Body, duplicate.Body));
    }

    [Fact]
    public async Task Stored_certificate_keys_are_answered_only_to_the_clusters_admin_token()
    {
        await using var cluster = await ManualCluster.StartAsync(0);
        using var api = cluster.Api();
        using var http = new HttpClient(TestTls.Handler(api.Http.BaseAddress!.ToString())) { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        async Task<int> GetAsync(string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/gateway-store/certificates/app.example.com");
            if (token is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            return (int)response.StatusCode;
        }
        async Task<string> UserTokenAsync(string user, string role)
        {
            using var admin = new HttpRequestMessage(HttpMethod.Post, "/v1/users") { Content = JsonContent($$"""{"name": "{{user}}", "role": "{{role}}"}""") };
            admin.Headers.Authorization = api.Http.DefaultRequestHeaders.Authorization;
            (await http.SendAsync(admin)).EnsureSuccessStatusCode();
            using var issue = new HttpRequestMessage(HttpMethod.Post, $"/v1/users/{user}/tokens") { Content = JsonContent("""{"ttl": "01:00:00"}""") };
            issue.Headers.Authorization = api.Http.DefaultRequestHeaders.Authorization;
            using var response = await http.SendAsync(issue);
            response.EnsureSuccessStatusCode();
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return doc.RootElement.GetProperty("token").GetString()!;
        }

        Assert.Equal(404, await GetAsync(cluster.AdminToken)); // positive control: the gateway's token gets through (nothing stored yet)
        Assert.Equal(401, await GetAsync(null));
        Assert.Equal(403, await GetAsync(await UserTokenAsync("viv", "viewer")));
        Assert.Equal(403, await GetAsync(await UserTokenAsync("ada", "admin"))); // a person's admin token: no keys
    }

    private static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Spec(string name, string domains) => $$"""
        { "name": "{{name}}", "command": "dotnet", "args": ["{{RepoPaths.HelloDll}}"], "resources": { "cpu": "50m", "memory": "32Mi" },
          "ports": [{ "name": "http" }], "domains": [{{domains}}] }
        """;

    private static async Task<(int Status, string Body)> PostAsync(ManualCluster cluster, string spec)
    {
        using var api = cluster.Api();
        using var post = new HttpClient(TestTls.Handler(api.Http.BaseAddress!.ToString())) { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        post.DefaultRequestHeaders.Authorization = api.Http.DefaultRequestHeaders.Authorization;
        using var response = await post.PostAsync("/v1/services", new StringContent(spec, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode) return ((int)response.StatusCode, body);
        // The error and each field's problem as plain text (the JSON escapes quotes).
        using var doc = JsonDocument.Parse(body);
        var text = doc.RootElement.GetProperty("error").GetString();
        if (doc.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            text += "\n" + string.Join("\n", errors.EnumerateArray().Select(e => $"{e.GetProperty("field").GetString()}: {e.GetProperty("message").GetString()}"));
        return ((int)response.StatusCode, text!);
    }

    private static TestProcess StartGateway(ManualCluster cluster, string name, int http, int https, string resolver, PebbleServer pebble) =>
        TestProcess.StartDotnet(RepoPaths.HostDll,
        [
            "gateway", "--server", cluster.Url, "--token-file", Path.Combine(cluster.Directory, "cp", "admin.token"),
            "--ca-fingerprint", TestTls.ReadFingerprint(Path.Combine(cluster.Directory, "cp")), "--name", name, "--domain", "vc.test",
            "--listen", $"http://127.0.0.1:{http},https://127.0.0.1:{https}", "--domain-resolver", resolver,
            "--acme-directory", pebble.DirectoryUrl, "--acme-server-fingerprint", pebble.ApiFingerprint,
        ]);

    private static async Task DeployAsync(ManualCluster cluster, string name, string[] domains)
    {
        var spec = $$"""
            { "name": "{{name}}", "command": "dotnet", "args": ["{{RepoPaths.HelloDll}}"], "replicas": 1,
              "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http" }], "env": { "GREETING": "hello" },
              "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s", "gracePeriod": "60s" },
              "domains": [{{string.Join(", ", domains.Select(d => $"\"{d}\""))}}] }
            """;
        var (status, body) = await PostAsync(cluster, spec);
        Assert.True(status is 200 or 201, body);
        using var api = cluster.Api();
        await api.WaitRunningAsync(name, TimeSpan.FromSeconds(120));
    }

    /// <summary>curl, trusting only Pebble's root, gets the page at https://app.example.test:port/ (pinned to 127.0.0.1).</summary>
    private async Task CurlHelloAsync(string root, int httpsPort)
    {
        var url = $"https://{Domain}:{httpsPort}/";
        var body = "";
        await Wait.UntilAsync(async () =>
        {
            (var code, body) = await CurlAsync("-s", "-m", "5", "--cacert", root, "--resolve", $"{Domain}:{httpsPort}:127.0.0.1", url);
            return code == 0 && body.StartsWith("hello from hello-", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(90), $"curl {url} to answer from hello over https");
        output.WriteLine($"{url}: {body}");
    }

    /// <summary>Where the gateway's certificate for <paramref name="name"/> came from ("ordered", "store", "files"), or null when it has none.</summary>
    private static async Task<string?> SourceAsync(int port, string name)
    {
        using var doc = await GetJsonAsync(port, "/v1/gateway/certificates");
        return doc.RootElement.EnumerateArray().Where(c => c.GetProperty("name").GetString() == name).Select(c => c.GetProperty("source").GetString()).FirstOrDefault();
    }

    private static async Task<JsonDocument> GetJsonAsync(int port, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try { return JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}{path}")); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return JsonDocument.Parse(path.EndsWith("certificates", StringComparison.Ordinal) ? "[]" : "{}"); }
    }

    private static int Issued(string pebbleOutput) => IssuedLine().Count(pebbleOutput);

    private static async Task<(int ExitCode, string Output)> CurlAsync(params string[] args)
    {
        var info = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout);
    }

    [GeneratedRegex("Issued certificate serial")]
    private static partial Regex IssuedLine();

    /// <summary>The test zone: these names (relative to "test") resolve to 127.0.0.1; every other name is NXDOMAIN.</summary>
    private sealed class Zone(params string[] names) : IDnsRecordSource
    {
        public bool HasAddress(string relativeName) => names.Contains(relativeName);
        public IReadOnlyList<string> FindText(string relativeName) => [];
    }
}
