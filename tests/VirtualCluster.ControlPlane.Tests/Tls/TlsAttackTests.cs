using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tests.Security;
using VirtualCluster.ControlPlane.Tls;
using VirtualCluster.Security.Tls;

namespace VirtualCluster.ControlPlane.Tests.Tls;

/// <summary>
/// The attack table's TLS rows, against real control planes on Kestrel: plain HTTP to the TLS port, TLS to a plain
/// port, and a man in the middle at join (another cluster's control plane, with its own CA, where the agent expected
/// its cluster). Each attack is refused, logged, and changes nothing; each has a positive control beside it.
/// </summary>
public sealed class TlsAttackTests : IAsyncLifetime
{
    private ApiSecurityHost tls = null!;

    public async Task InitializeAsync() => tls = await ApiSecurityHost.StartAsync(tls: true);

    public async Task DisposeAsync() => await tls.DisposeAsync();

    [Fact]
    public async Task Curl_trusts_the_written_ca_crt_and_refuses_the_API_without_it()
    {
        var caFile = Path.Combine(tls.DataDirectory, ClusterTls.CaCertificateFile);
        var url = new Uri(tls.BaseAddress, "v1/health").ToString();

        var (trusted, body) = await CurlAsync("--cacert", caFile, url);
        var (untrusted, _) = await CurlAsync(url);

        Assert.True(trusted == 0, $"curl --cacert ca.crt: exit {trusted}: {body}");
        Assert.Contains("ok", body, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(60, untrusted); // curl: "peer certificate cannot be authenticated with known CA certificates"
        Assert.Equal(File.ReadAllText(Path.Combine(tls.DataDirectory, ClusterTls.FingerprintFile)).Trim(),
            TlsFingerprint.Of(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(caFile))));
    }

    [Fact]
    public void The_bootstrap_join_token_carries_the_CA_fingerprint()
    {
        Assert.Equal(tls.Services.GetRequiredService<ClusterTls>().Fingerprint, JoinTokenCa.Read(tls.JoinToken));
    }

    [Fact]
    public async Task Join_tokens_made_by_the_API_carry_the_CA_fingerprint()
    {
        using var admin = tls.Client(tls.AdminToken);
        var response = await admin.PostAsync("v1/join-tokens", ApiSecurityHost.Json("""{"ttl":"00:10:00","uses":1}"""));
        response.EnsureSuccessStatusCode();
        var created = await response.Content.ReadFromJsonAsync<JoinTokenResponse>(VirtualClusterJson.Options);
        Assert.Equal(tls.Services.GetRequiredService<ClusterTls>().Fingerprint, JoinTokenCa.Read(created!.Token));
    }

    [Fact]
    public async Task Plain_HTTP_to_the_TLS_port_is_refused_logged_and_changes_nothing()
    {
        var before = await ServicesAsync(tls);
        var plain = new UriBuilder(tls.BaseAddress) { Scheme = "http" }.Uri;
        using var client = new HttpClient { BaseAddress = plain, Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + tls.AdminToken);

        var attack = await Record.ExceptionAsync(() => client.PostAsync("v1/services", ApiSecurityHost.Json(Spec)));

        Assert.IsType<HttpRequestException>(attack);
        Assert.Equal(before, await ServicesAsync(tls));
        await WaitForLogAsync(tls, "spoke plain HTTP to the TLS port");
        // Positive control: the same request over TLS deploys.
        using var admin = tls.Client(tls.AdminToken);
        (await admin.PostAsync("v1/services", ApiSecurityHost.Json(Spec))).EnsureSuccessStatusCode();
        Assert.NotEqual(before, await ServicesAsync(tls));
    }

    [Fact]
    public async Task TLS_to_a_plain_port_fails_and_changes_nothing()
    {
        await using var plain = await ApiSecurityHost.StartAsync();
        var before = await ServicesAsync(plain);
        var secure = new UriBuilder(plain.BaseAddress) { Scheme = "https" }.Uri;
        using var client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = PinnedCaValidator.ForFingerprint(tls.Services.GetRequiredService<ClusterTls>().Fingerprint).Validate },
        }) { BaseAddress = secure, Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + plain.AdminToken);

        var attack = await Record.ExceptionAsync(() => client.PostAsync("v1/services", ApiSecurityHost.Json(Spec)));

        Assert.IsType<HttpRequestException>(attack);
        Assert.Equal(before, await ServicesAsync(plain));
        await WaitForLogAsync(plain, "spoke TLS to this plain HTTP port");
    }

    [Fact]
    public async Task A_man_in_the_middle_at_join_is_refused_before_the_join_token_is_sent()
    {
        // The "middle": another cluster's control plane, with a CA of its own, at the address the agent was given.
        await using var middle = await ApiSecurityHost.StartAsync(tls: true);
        var nodesBefore = await NodesAsync(middle);
        var join = new JoinRequest(tls.JoinToken, "node-mitm", "127.0.0.1", new Resources(1000, 1L << 30, 1L << 30), ["process"], new PortRange(21100, 21199), null);
        var (pinned, agent) = AgentClient(tls.JoinToken, middle.BaseAddress);
        var logsBefore = middle.Logs.Count;

        var attack = await Record.ExceptionAsync(() => agent.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options));

        Assert.IsType<HttpRequestException>(attack);
        Assert.Contains("not the cluster's CA", attack!.Message);
        Assert.Null(pinned.Ca);
        Assert.Equal(nodesBefore, await NodesAsync(middle));
        await WaitForLogAsync(middle, "/v1/tls/ca"); // the CA was asked for (no token on that request) ...
        Assert.DoesNotContain(middle.Logs.Skip(logsBefore), l => l.Contains("/v1/join", StringComparison.Ordinal)); // ... and nothing else
        agent.Dispose();

        // Positive control: the same agent set-up, pointed at its own cluster, learns the CA and joins.
        var (real, client) = AgentClient(tls.JoinToken, tls.BaseAddress);
        using (client) (await client.PostAsJsonAsync("v1/join", join, VirtualClusterJson.Options)).EnsureSuccessStatusCode();
        Assert.Equal(tls.Services.GetRequiredService<ClusterTls>().Fingerprint, TlsFingerprint.Of(real.Ca!));
        Assert.Contains("node-mitm", await NodesAsync(tls));
    }

    [Fact]
    public async Task A_server_certificate_from_another_CA_is_refused_even_after_the_right_CA_was_learnt()
    {
        await using var middle = await ApiSecurityHost.StartAsync(tls: true);
        var (pinned, client) = AgentClient(tls.JoinToken, tls.BaseAddress);
        using (client) (await client.GetAsync("v1/health")).EnsureSuccessStatusCode(); // learns the right CA
        using var redirected = new HttpClient(new CaDiscoveryHandler(pinned) { InnerHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = pinned.Validate } } })
        {
            BaseAddress = middle.BaseAddress,
            Timeout = TimeSpan.FromSeconds(10),
        };

        var attack = await Record.ExceptionAsync(() => redirected.GetAsync("v1/whoami"));

        Assert.IsType<HttpRequestException>(attack);
        // The refusal is the client's (the agent logs it): with TLS 1.3 the server's side of the handshake has already
        // finished when the client checks the certificate and hangs up.
        Assert.Contains("is not valid under the cluster's CA", pinned.LastProblem);
    }

    // An agent's client as the agent builds it: pinned by the join token's fingerprint, the CA fetched and checked first.
    private static (PinnedCaValidator Pinned, HttpClient Client) AgentClient(string joinToken, Uri server)
    {
        var pinned = PinnedCaValidator.ForFingerprint(JoinTokenCa.Read(joinToken)!);
        var client = new HttpClient(new CaDiscoveryHandler(pinned) { InnerHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = pinned.Validate } } })
        {
            BaseAddress = server,
            Timeout = TimeSpan.FromSeconds(10),
        };
        return (pinned, client);
    }

    private const string Spec = """{ "name": "tls-web", "command": "dotnet", "args": ["x.dll"] }""";

    private static async Task<string> ServicesAsync(ApiSecurityHost host)
    {
        using var admin = host.Client(host.AdminToken);
        return await admin.GetStringAsync("v1/services");
    }

    private static async Task<string> NodesAsync(ApiSecurityHost host)
    {
        using var admin = host.Client(host.AdminToken);
        var nodes = await admin.GetFromJsonAsync<NodeView[]>("v1/nodes", VirtualClusterJson.Options);
        return string.Join(",", nodes!.Select(n => n.Node.Name).Order(StringComparer.Ordinal));
    }

    private static async Task WaitForLogAsync(ApiSecurityHost host, string text)
    {
        var deadline = Stopwatch.StartNew();
        while (!host.Logs.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"no log line with \"{text}\" in 10 s:\n{string.Join("\n", host.Logs.TakeLast(20))}");
            await Task.Delay(20);
        }
    }

    private static async Task<(int Exit, string Output)> CurlAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-sS", "--max-time", "10" }.Concat(arguments)) start.ArgumentList.Add(argument);
        using var curl = Process.Start(start)!;
        var output = curl.StandardOutput.ReadToEndAsync();
        var error = curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        return (curl.ExitCode, await output + await error);
    }
}
