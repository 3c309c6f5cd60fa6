using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using VirtualCluster.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace VirtualCluster.IntegrationTests;

/// <summary>
/// Automatic HTTPS, end to end with real processes: `local --domain vc.test --dns-listen --https-port --acme-directory`
/// against a real Pebble that resolves hello.vc.test through the gateway's own DNS responder and fetches the HTTP-01
/// token from the gateway; then curl (trusting only Pebble's root), HttpClient and headless Chromium (Pebble's root added
/// to its NSS store, with an empty store as the control) get the page over HTTPS by SNI.
/// </summary>
public sealed partial class GatewayHttpsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Pebble_issues_the_services_certificate_and_curl_and_chromium_get_the_page_over_https()
    {
        // Checked first: the browser step comes after minutes of cluster start and issuance.
        if (NssHome.UnavailableReason() is { } reason) throw new InvalidOperationException(reason);
        await using var pebble = new PebbleServer();
        var httpsPort = Wait.FreePort();
        await using var cluster = new LocalCluster
        {
            ExtraArguments = ["--domain", "vc.test", "--dns-listen", "127.0.0.1:0", "--https-port", httpsPort.ToString(),
                "--acme-directory", pebble.DirectoryUrl, "--acme-server-fingerprint", pebble.ApiFingerprint, "--redirect-https"],
        };
        try
        {
            await cluster.InitializeAsync();
            var dnsPort = await GatewayDnsPortAsync(cluster);
            await pebble.StartAsync(cluster.GatewayPort, dnsPort);
            await DeployHelloAsync(cluster);

            // The gateway orders a certificate for hello.vc.test once the service exists.
            using var plain = new HttpClient { BaseAddress = new Uri(cluster.GatewayUrl), Timeout = TimeSpan.FromSeconds(10) };
            await Wait.UntilAsync(async () => (await plain.GetStringAsync("/v1/gateway/certificates")).Contains("hello.vc.test", StringComparison.Ordinal),
                TimeSpan.FromSeconds(180), "the gateway to hold a certificate for hello.vc.test");
            output.WriteLine(await plain.GetStringAsync("/v1/gateway/certificates"));

            var root = Path.Combine(cluster.DataDirectory, "pebble-root.pem");
            await File.WriteAllTextAsync(root, await pebble.RootPemAsync());
            var url = $"https://hello.vc.test:{httpsPort}/";
            var resolve = $"hello.vc.test:{httpsPort}:127.0.0.1";
            var body = "";
            await Wait.UntilAsync(async () =>
            {
                (var code, body) = await CurlAsync("-s", "-m", "5", "--cacert", root, "--resolve", resolve, url);
                return code == 0 && body.StartsWith("hello from hello-", StringComparison.Ordinal);
            }, TimeSpan.FromSeconds(120), $"curl {url} to answer from hello over https");
            output.WriteLine(body);

            // .NET's own client, trusting only Pebble's root, with SNI hello.vc.test.
            using var trusted = new HttpClient(TrustingOnly(X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(root))));
            Assert.StartsWith("hello from hello-", await trusted.GetStringAsync(url));

            // A real browser at the service name, trusting Pebble's root through its own trust store (and refusing without it).
            await BrowserHttps.AssertLoadsTrustingOnlyAsync(url, root, "hello from hello-", output);

            // Plain HTTP for the service redirects to https; a name without a certificate fails the handshake.
            var (_, headers) = await CurlAsync("-s", "-D", "-", "-o", "/dev/null", "--resolve", $"hello.vc.test:{cluster.GatewayPort}:127.0.0.1", $"http://hello.vc.test:{cluster.GatewayPort}/x?y=1");
            Assert.Contains("HTTP/1.1 308", headers);
            Assert.Contains($"location: https://hello.vc.test:{httpsPort}/x?y=1", headers, StringComparison.OrdinalIgnoreCase);
            var (failed, _) = await CurlAsync("-s", "-m", "5", "--cacert", root, "--resolve", $"other.vc.test:{httpsPort}:127.0.0.1", $"https://other.vc.test:{httpsPort}/");
            Assert.NotEqual(0, failed);
        }
        catch
        {
            output.WriteLine($"--- pebble\n{pebble.Output}");
            var log = Path.Combine(cluster.DataDirectory, "logs", "gateway.log");
            if (File.Exists(log)) output.WriteLine($"--- gateway.log\n{await ReadSharedAsync(log)}");
            throw;
        }
    }

    private static async Task<int> GatewayDnsPortAsync(LocalCluster cluster)
    {
        var log = Path.Combine(cluster.DataDirectory, "logs", "gateway.log");
        var port = 0;
        await Wait.UntilAsync(async () =>
        {
            var match = DnsListening().Match(File.Exists(log) ? await ReadSharedAsync(log) : "");
            if (match.Success) port = int.Parse(match.Groups[1].Value);
            return match.Success;
        }, TimeSpan.FromSeconds(30), $"the gateway to log its DNS port in {log}");
        return port;
    }

    private static async Task DeployHelloAsync(LocalCluster cluster)
    {
        var spec = $$"""
            { "name": "hello", "command": "dotnet", "args": ["{{RepoPaths.HelloDll}}"], "replicas": 1,
              "resources": { "cpu": "100m", "memory": "64Mi" }, "ports": [{ "name": "http" }], "env": { "GREETING": "hello" },
              "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s", "gracePeriod": "60s" } }
            """;
        using var api = cluster.Api();
        using var post = new HttpClient(TestTls.Handler(api.Http.BaseAddress!.ToString())) { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        post.DefaultRequestHeaders.Authorization = api.Http.DefaultRequestHeaders.Authorization;
        using var response = await post.PostAsync("/v1/services", new StringContent(spec, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Connects every name to 127.0.0.1 (keeping the name for SNI) and trusts only <paramref name="root"/>.</summary>
    private static SocketsHttpHandler TrustingOnly(X509Certificate2 root) => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(System.Net.IPAddress.Loopback, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                using var custom = new X509Chain();
                custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                custom.ChainPolicy.CustomTrustStore.Add(root);
                custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                if (chain is not null) foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
                return custom.Build(new X509Certificate2(certificate));
            },
        },
    };

    private static async Task<(int ExitCode, string Output)> CurlAsync(params string[] args)
    {
        var info = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout);
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    [GeneratedRegex(@"DNS: answering for vc\.test on udp 127\.0\.0\.1:(\d+)")]
    private static partial Regex DnsListening();
}
