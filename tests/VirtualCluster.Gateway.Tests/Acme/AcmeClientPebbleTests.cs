using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VirtualCluster.Acme;
using VirtualCluster.Dns;
using VirtualCluster.Gateway.Tests.Dns;
using Xunit.Abstractions;

namespace VirtualCluster.Gateway.Tests.Acme;

/// <summary>
/// Our ACME client against a real Pebble: it resolves the names through our DNS responder, fetches HTTP-01 tokens
/// from a Kestrel serving <see cref="Http01Challenges"/>, and reads DNS-01 TXT records from our responder.
/// </summary>
public sealed class AcmeClientPebbleTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly FixedRecords _records = new("hello", "api");
    private readonly Http01Challenges _http01 = new();
    private DnsServer _dns = null!;
    private WebApplication _web = null!;
    private int _httpPort;

    public async Task InitializeAsync()
    {
        _dns = new DnsServer(Options.Create(new DnsServerOptions { Listen = "127.0.0.1:0", Domain = "vc.test", BurstPerSource = 1000, QueriesPerSecondPerSource = 1000 }),
            _records, TimeProvider.System, new DnsMetrics(), NullLogger<DnsServer>.Instance);
        await _dns.StartAsync(CancellationToken.None);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _web = builder.Build();
        _web.MapGet(Http01Challenges.PathPrefix + "{token}", (string token) =>
            _http01.TryGetResponse(token, out var answer) ? Results.Text(answer) : Results.NotFound());
        await _web.StartAsync();
        _httpPort = new Uri(_web.Urls.First()).Port;
    }

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        await _dns.StopAsync(CancellationToken.None);
        _dns.Dispose();
    }

    [Fact]
    public async Task Pebble_issues_a_certificate_over_HTTP_01_for_a_name_our_DNS_resolves()
    {
        await using var pebble = await Pebble.StartAsync(_httpPort, _dns.LocalEndPoint!.Port);
        using var http = new HttpClient(pebble.Handler());
        using var key = AcmeAccountKey.Create();
        var client = new AcmeClient(http, pebble.DirectoryUrl, key);
        var account = await client.RegisterAsync("ops@vc.test");
        Assert.StartsWith("https://127.0.0.1", account);
        // Registering again with the same key finds the same account.
        Assert.Equal(account, await new AcmeClient(http, pebble.DirectoryUrl, key).RegisterAsync());

        var issued = await client.OrderAsync(["hello.vc.test", "api.vc.test"], _http01);
        using var leaf = issued.ToX509();
        output.WriteLine($"{leaf.Subject} {leaf.NotBefore:u}..{leaf.NotAfter:u} issued by {leaf.Issuer}");
        Assert.True(leaf.HasPrivateKey);
        Assert.True(leaf.MatchesHostname("hello.vc.test") && leaf.MatchesHostname("api.vc.test"));
        Assert.False(leaf.MatchesHostname("other.vc.test"));
        await AssertChainsToPebbleRootAsync(pebble, issued);
        Assert.False(_http01.TryGetResponse("anything", out _));
    }

    [Fact]
    public async Task Pebble_issues_a_wildcard_over_DNS_01_answered_by_our_responder()
    {
        await using var pebble = await Pebble.StartAsync(_httpPort, _dns.LocalEndPoint!.Port);
        using var http = new HttpClient(pebble.Handler());
        using var key = AcmeAccountKey.Create();
        var published = new List<string>();
        var dns01 = new Dns01Challenges(
            (name, value) => { lock (published) published.Add(name); _records.Texts[Relative(name)] = [value]; },
            (name, _) => _records.Texts.TryRemove(Relative(name), out string[]? _));
        var issued = await new AcmeClient(http, pebble.DirectoryUrl, key).OrderAsync(["*.vc.test"], dns01);
        using var leaf = issued.ToX509();
        Assert.True(leaf.MatchesHostname("anything.vc.test"));
        Assert.Contains("_acme-challenge.vc.test", published);
        Assert.Empty(_records.Texts); // withdrawn
        await AssertChainsToPebbleRootAsync(pebble, issued);

        static string Relative(string name) => name == "_acme-challenge.vc.test" ? "_acme-challenge" : name[..^".vc.test".Length];
    }

    [Fact]
    public async Task A_challenge_that_cannot_be_met_fails_with_the_CAs_reason()
    {
        await using var pebble = await Pebble.StartAsync(_httpPort, _dns.LocalEndPoint!.Port);
        using var http = new HttpClient(pebble.Handler());
        using var key = AcmeAccountKey.Create();
        // nope.vc.test is NXDOMAIN in our zone: Pebble cannot reach it.
        var e = await Assert.ThrowsAsync<AcmeException>(() => new AcmeClient(http, pebble.DirectoryUrl, key).OrderAsync(["nope.vc.test"], _http01));
        output.WriteLine(e.Message);
        Assert.Contains("nope.vc.test", e.Message);
    }

    private static async Task AssertChainsToPebbleRootAsync(Pebble pebble, AcmeCertificate issued)
    {
        using var root = await pebble.RootAsync();
        using var leaf = issued.ToX509();
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.ExtraStore.AddRange(issued.Intermediates());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(leaf), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }
}
