using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Acme;
using VirtualCluster.Dns;
using VirtualCluster.Gateway.Tests.Dns;
using VirtualCluster.Gateway.Tls;
using Xunit.Abstractions;

namespace VirtualCluster.Gateway.Tests.Acme;

/// <summary>SNI selection, the renewal rule, the options validator, and a renewal on virtual time against a real Pebble.</summary>
public sealed class GatewayTlsTests(ITestOutputHelper output)
{
    private static X509Certificate2 SelfSigned(string name, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(notBefore, notAfter);
    }

    [Fact]
    public void SNI_picks_the_exact_name_then_the_wildcard_then_the_fallback()
    {
        var now = DateTimeOffset.UtcNow;
        var certificates = new GatewayCertificates();
        Assert.Null(certificates.Select("hello.vc.test"));
        var fallback = SelfSigned("fallback", now, now.AddDays(1));
        certificates.SetFallback(fallback, null);
        Assert.Same(fallback, certificates.Select("hello.vc.test")!.Leaf);
        Assert.Same(fallback, certificates.Select(null)!.Leaf);
        var wildcard = SelfSigned("*.vc.test", now, now.AddDays(1));
        certificates.Set("*.vc.test", wildcard, []);
        var exact = SelfSigned("hello.vc.test", now, now.AddDays(1));
        certificates.Set("hello.vc.test", exact, []);
        Assert.Same(exact, certificates.Select("HELLO.vc.test")!.Leaf);
        Assert.Same(wildcard, certificates.Select("api.vc.test")!.Leaf);
        Assert.Same(fallback, certificates.Select("a.b.vc.test")!.Leaf); // a wildcard covers one label only
    }

    [Fact]
    public void Renewal_is_due_when_the_smaller_of_RenewBefore_and_a_third_of_the_lifetime_is_left()
    {
        var start = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        using var ninetyDays = SelfSigned("a", start, start.AddDays(90));
        Assert.False(AcmeCertificateService.IsDue(ninetyDays, TimeSpan.FromDays(30), start.AddDays(59)));
        Assert.True(AcmeCertificateService.IsDue(ninetyDays, TimeSpan.FromDays(30), start.AddDays(61)));
        using var oneHour = SelfSigned("b", start, start.AddHours(1));
        Assert.False(AcmeCertificateService.IsDue(oneHour, TimeSpan.FromDays(30), start.AddMinutes(39)));
        Assert.True(AcmeCertificateService.IsDue(oneHour, TimeSpan.FromDays(30), start.AddMinutes(41)));
    }

    [Fact]
    public void Bad_tls_options_are_named_with_the_fix()
    {
        var result = new GatewayTlsOptionsValidator().Validate(null, new GatewayTlsOptions
        {
            AcmeDirectory = "http://ca.example/dir", AcmeServerFingerprint = "md5:00", AcmeChallenge = "tls-alpn-01", AcmeEmail = "nobody",
            RenewBefore = TimeSpan.Zero, CheckInterval = TimeSpan.Zero, CertificatePath = "/nonexistent/cert.pem", HttpsPort = 0,
        });
        foreach (var option in new[] { "AcmeDirectory", "AcmeServerFingerprint", "AcmeChallenge", "AcmeEmail", "RenewBefore", "CheckInterval", "CertificatePath", "HttpsPort" })
            Assert.Contains(result.Failures!, f => f.StartsWith(option, StringComparison.Ordinal));
        Assert.True(new GatewayTlsOptionsValidator().Validate(null, new GatewayTlsOptions { AcmeDirectory = "https://127.0.0.1:14000/dir" }).Succeeded);
    }

    [Fact]
    public async Task The_service_orders_from_Pebble_and_renews_when_virtual_time_reaches_the_renewal_point()
    {
        var records = new FixedRecords("hello");
        using var dns = new DnsServer(Options.Create(new DnsServerOptions { Listen = "127.0.0.1:0", Domain = "vc.test", BurstPerSource = 1000, QueriesPerSecondPerSource = 1000 }),
            records, TimeProvider.System, new DnsMetrics(), NullLogger<DnsServer>.Instance);
        await dns.StartAsync(CancellationToken.None);
        var http01 = new Http01Challenges();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var web = builder.Build();
        web.MapGet(Http01Challenges.PathPrefix + "{token}", (string token) => http01.TryGetResponse(token, out var answer) ? Results.Text(answer) : Results.NotFound());
        await web.StartAsync();
        await using var pebble = await Pebble.StartAsync(new Uri(web.Urls.First()).Port, dns.LocalEndPoint!.Port);

        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var certificates = new GatewayCertificates();
        var tls = new GatewayTlsOptions
        {
            AcmeDirectory = pebble.DirectoryUrl.ToString(), AcmeServerFingerprint = VirtualCluster.Security.Tls.TlsFingerprint.Of(pebble.ApiCertificate),
            CheckInterval = TimeSpan.FromMinutes(1),
        };
        using var service = new AcmeCertificateService(Options.Create(tls), Options.Create(new GatewayOptions { Domain = "vc.test" }), new OneRoute("hello"),
            certificates, http01, new ServiceCollection().BuildServiceProvider(), time, NullLogger<AcmeCertificateService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            var first = await WaitForAsync(() => certificates.Get("hello.vc.test")?.Leaf, "the first certificate");
            output.WriteLine($"first: {first.SerialNumber} until {first.NotAfter:u}");
            Assert.True(first.MatchesHostname("hello.vc.test"));

            // Virtual time past the renewal point (30 days before expiry; the rule itself is tested above): the next
            // check orders a new certificate, which replaces the old one.
            var notAfter = new DateTimeOffset(first.NotAfter.ToUniversalTime());
            time.SetUtcNow(notAfter - TimeSpan.FromDays(29));
            time.Advance(tls.CheckInterval);
            var second = await WaitForAsync(() => certificates.Get("hello.vc.test")?.Leaf is { } leaf && leaf.SerialNumber != first.SerialNumber ? leaf : null, "the renewed certificate");
            output.WriteLine($"renewed: {second.SerialNumber} until {second.NotAfter:u}");
            Assert.True(second.MatchesHostname("hello.vc.test"));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            await dns.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> probe, string what) where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (probe() is { } value) return value;
            await Task.Delay(100);
        }
        throw new TimeoutException($"timed out waiting for {what}");
    }

    private sealed class OneRoute(string name) : IServiceRouteTable
    {
        private readonly ServiceRoute _route = new(name, new ServiceSpec { Name = name, Driver = "process" }, [], false, "");
        public ServiceRoute? Find(string service) => service == name ? _route : null;
        public IReadOnlyCollection<ServiceRoute> All => [_route];
        public bool Loaded => true;
        public DateTimeOffset? RefreshedAt => DateTimeOffset.UtcNow;
    }
}
