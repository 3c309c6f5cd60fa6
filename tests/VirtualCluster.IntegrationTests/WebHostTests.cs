using System.Net;
using VirtualCluster.IntegrationTests.Infrastructure;

namespace VirtualCluster.IntegrationTests;

/// <summary>The ASP.NET Core web host serves the same control-plane API, configured through configuration.</summary>
public sealed class WebHostTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-web-").FullName;

    [Fact]
    public async Task Web_host_serves_the_api_with_tokens_from_its_configured_data_directory()
    {
        var url = $"http://127.0.0.1:{Wait.FreePort()}";
        using var host = TestProcess.StartDotnet(RepoPaths.WebHostDll, [], new Dictionary<string, string>
        {
            ["Urls"] = url,
            ["VirtualCluster__DataDirectory"] = _dir,
        });
        using var anonymous = new ApiClient(url, null);
        await Wait.UntilAsync(anonymous.HealthyAsync, TimeSpan.FromSeconds(60), "web host health");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.Http.GetAsync("/v1/status")).StatusCode);

        var token = (await File.ReadAllTextAsync(Path.Combine(_dir, "admin.token"))).Trim();
        using var admin = new ApiClient(url, token);
        var status = await admin.StatusAsync();
        Assert.Empty(status.Nodes);
        Assert.Empty(status.Services);
    }

    [Fact]
    public async Task Web_host_serves_its_agents_TLS_with_a_certificate_of_its_cluster_CA_on_its_http_port()
    {
        var port = Wait.FreePort();
        var url = $"http://127.0.0.1:{port}";
        using var host = TestProcess.StartDotnet(RepoPaths.WebHostDll, [], new Dictionary<string, string>
        {
            ["Urls"] = url,
            ["VirtualCluster__DataDirectory"] = _dir,
        });
        using var anonymous = new ApiClient(url, null);
        await Wait.UntilAsync(anonymous.HealthyAsync, TimeSpan.FromSeconds(60), "web host health");
        await host.WaitForOutputAsync("Agent-facing TLS: certificate of the cluster CA", TimeSpan.FromSeconds(30));

        // The embedded gateway's agent endpoints: plain text is refused (426) ...
        using (var plain = await anonymous.Http.GetAsync("/v1/signaling")) Assert.Equal(HttpStatusCode.UpgradeRequired, plain.StatusCode);
        // ... and TLS on the same port presents a certificate that agents pinning this cluster's CA accept.
        var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir, "ca.crt"));
        var validator = VirtualCluster.Security.Tls.PinnedCaValidator.ForCertificate(ca);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, validator.Validate);
        await tls.AuthenticateAsClientAsync("127.0.0.1");
        Assert.True(tls.IsAuthenticated, validator.LastProblem);
    }

    [Fact]
    public async Task Web_host_serves_an_https_url_with_a_certificate_of_its_cluster_CA_and_its_gateway_reads_routes_over_it()
    {
        var httpsPort = Wait.FreePort();
        var httpPort = Wait.FreePort();
        var https = $"https://127.0.0.1:{httpsPort}";
        using var host = TestProcess.StartDotnet(RepoPaths.WebHostDll, [], new Dictionary<string, string>
        {
            ["Urls"] = $"{https};http://127.0.0.1:{httpPort}",
            ["VirtualCluster__DataDirectory"] = _dir,
        });
        await Wait.UntilAsync(() => Task.FromResult(File.Exists(Path.Combine(_dir, "ca.fingerprint"))), TimeSpan.FromSeconds(60), "the cluster CA");
        // The API's certificate chains to this cluster's CA (no certificate was configured), checked as agents and the CLI do.
        TestTls.Register(https, TestTls.ReadFingerprint(_dir));
        using var anonymous = new ApiClient(https, null);
        await Wait.UntilAsync(anonymous.HealthyAsync, TimeSpan.FromSeconds(60), "web host health over https");
        var token = (await File.ReadAllTextAsync(Path.Combine(_dir, "admin.token"))).Trim();
        using var admin = new ApiClient(https, token);
        Assert.Empty((await admin.StatusAsync()).Services);
        // The embedded gateway reads its routes through this host's own https API (trusting the same CA): it has a table.
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
        await Wait.UntilAsync(async () =>
        {
            using var routes = System.Text.Json.JsonDocument.Parse(await plain.GetStringAsync("/v1/gateway/routes"));
            return routes.RootElement.GetProperty("refreshedAt").ValueKind == System.Text.Json.JsonValueKind.String;
        }, TimeSpan.FromSeconds(30), "the gateway's first route table read over https");
        Assert.DoesNotContain("Cannot read routes", host.Output);
        // Plain http on the TLS port is refused and logged, as on the console control plane.
        using var wrong = new HttpClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => wrong.GetAsync($"http://127.0.0.1:{httpsPort}/v1/health"));
        Assert.DoesNotContain("served over plain http", host.Output); // loopback http: no warning
    }

    [Fact]
    public async Task Web_host_refuses_to_start_without_a_data_directory()
    {
        using var host = TestProcess.StartDotnet(RepoPaths.WebHostDll, [], new Dictionary<string, string>
        {
            ["Urls"] = $"http://127.0.0.1:{Wait.FreePort()}",
            ["VirtualCluster__DataDirectory"] = "",
        });
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, code);
        Assert.Contains("DataDirectory is empty", host.Output);
    }

    [Theory]
    [InlineData("maybe")]
    [InlineData("0n")]
    public async Task Web_host_refuses_a_p2p_value_that_is_neither_on_nor_off(string value)
    {
        using var host = TestProcess.StartDotnet(RepoPaths.WebHostDll, ["--p2p", value], new Dictionary<string, string>
        {
            ["Urls"] = $"http://127.0.0.1:{Wait.FreePort()}",
            ["VirtualCluster__DataDirectory"] = _dir,
        });
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, code);
        Assert.Contains($"--p2p must be on or off (got \"{value}\")", host.Output);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
