using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VirtualCluster.Acme;
using VirtualCluster.Api;
using VirtualCluster.Dns;
using VirtualCluster.Gateway.Domains;
using VirtualCluster.Gateway.Tests.Dns;
using VirtualCluster.Gateway.Tls;

namespace VirtualCluster.Gateway.Tests.Domains;

/// <summary>
/// The custom-domain lookup against our own DNS server, the route table's domain index, and the certificate service
/// with a shared store: a stored certificate is served without an order, and a name whose lease another gateway holds
/// is not ordered (with the granted lease as the positive control).
/// </summary>
public sealed class DomainTests
{
    [Fact]
    public async Task The_lookup_finds_the_zones_address_and_reports_NXDOMAIN_for_other_names()
    {
        using var dns = new DnsServer(Options.Create(new DnsServerOptions { Listen = "127.0.0.1:0", Domain = "test", Addresses = ["127.0.0.1"] }),
            new FixedRecords("app.example"), TimeProvider.System, new DnsMetrics(), NullLogger<DnsServer>.Instance);
        await dns.StartAsync(CancellationToken.None);
        try
        {
            var lookup = new DnsLookup(dns.LocalEndPoint, TimeSpan.FromSeconds(3));
            Assert.Equal([IPAddress.Loopback], await lookup.ResolveAsync("app.example.test", default));
            var missing = await Assert.ThrowsAsync<DnsLookupException>(() => lookup.ResolveAsync("missing.example.test", default));
            Assert.Contains("NXDOMAIN", missing.Message);
        }
        finally
        {
            await dns.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_resolver_that_does_not_answer_is_a_clear_problem()
    {
        using var silent = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0)); // bound, never answers
        var lookup = new DnsLookup((IPEndPoint)silent.Client.LocalEndPoint!, TimeSpan.FromMilliseconds(300));
        var e = await Assert.ThrowsAsync<DnsLookupException>(() => lookup.ResolveAsync("app.example.test", default));
        Assert.Contains("did not answer", e.Message);
    }

    [Fact]
    public void Answers_that_are_not_for_the_query_or_malformed_are_ignored()
    {
        var query = DnsLookup.BuildQuery(0x1234, "app.example.test", 1);
        Assert.Null(DnsLookup.ParseAnswer(query, 0x1234, "app.example.test", out var none)); // a query, not a response
        Assert.Null(none);
        var response = (byte[])query.Clone();
        response[2] |= 0x80;
        response[7] = 5; // claims 5 answers that are not there
        Assert.Null(DnsLookup.ParseAnswer(response, 0x1234, "app.example.test", out var truncated));
        Assert.Null(truncated);
        Assert.Null(DnsLookup.ParseAnswer(response, 0x9999, "app.example.test", out var otherId));
        Assert.Null(otherId);
        Assert.Null(DnsLookup.ParseAnswer([1, 2, 3], 0x1234, "x", out _));
    }

    [Fact]
    public void The_route_table_finds_a_service_by_its_custom_domain()
    {
        var table = new ServiceRouteTable();
        var spec = new ServiceSpec { Name = "web", Driver = "process", Command = "x", Domains = ["app.example.com"] };
        table.Replace([new ServiceView(spec, DateTimeOffset.UtcNow, 1, 0, [])], [], DateTimeOffset.UtcNow);
        Assert.Equal("web", table.FindByDomain("APP.example.com.")?.Name);
        Assert.Null(table.FindByDomain("www.example.com"));
    }

    [Fact]
    public async Task A_stored_certificate_is_served_without_an_order_and_a_name_leased_elsewhere_is_not_ordered()
    {
        var store = new MemoryStore();
        store.Certificates["hello.vc.test"] = Issue("hello.vc.test");
        store.LeaseHolders["other.vc.test"] = "edge-9"; // another gateway is ordering it
        var certificates = new GatewayCertificates();
        var services = new ServiceCollection().AddSingleton<IGatewayCertificateStore>(store).BuildServiceProvider();
        var tls = new GatewayTlsOptions { AcmeDirectory = "https://127.0.0.1:1/dir", CheckInterval = TimeSpan.FromMilliseconds(200) }; // no CA answers there
        using var service = new AcmeCertificateService(Options.Create(tls), Options.Create(new GatewayOptions { Domain = "vc.test", Name = "edge-1" }),
            new Routes("hello", "other", "third"), certificates, new Http01Challenges(), services, TimeProvider.System, NullLogger<AcmeCertificateService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            // Positive control: "third" is free, so its lease is taken and an order tried (it fails: no CA), then released.
            await WaitAsync(() => store.Released.Contains("third.vc.test"), "the order of third.vc.test to be tried and its lease released");
            Assert.Equal("store", certificates.Get("hello.vc.test")?.Source);
            Assert.DoesNotContain("hello.vc.test", store.LeaseRequests); // served from the store: no lease, no order
            Assert.Contains("other.vc.test", store.LeaseRequests);
            Assert.DoesNotContain("other.vc.test", store.Released); // refused: never ordered, so nothing to release
            Assert.Null(certificates.Get("other.vc.test"));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    private static StoredCertificate Issue(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(90));
        return new StoredCertificate(name, certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    private sealed class MemoryStore : IGatewayCertificateStore
    {
        public Dictionary<string, StoredCertificate> Certificates { get; } = new();
        public Dictionary<string, string> LeaseHolders { get; } = new();
        public System.Collections.Concurrent.ConcurrentBag<string> LeaseRequests { get; } = [];
        public System.Collections.Concurrent.ConcurrentBag<string> Released { get; } = [];

        public Task<StoredCertificate?> GetAsync(string name, CancellationToken cancellationToken = default) =>
            Task.FromResult(Certificates.GetValueOrDefault(name));

        public Task<bool> PutAsync(StoredCertificate certificate, CancellationToken cancellationToken = default) => Task.FromResult(true);

        public Task<bool> TryLeaseAsync(string name, string holder, TimeSpan lease, CancellationToken cancellationToken = default)
        {
            if (lease == TimeSpan.Zero) Released.Add(name);
            else LeaseRequests.Add(name);
            return Task.FromResult(!LeaseHolders.TryGetValue(name, out var other) || other == holder);
        }

        public Task<string> AccountKeyAsync(string offeredPem, CancellationToken cancellationToken = default) => Task.FromResult(offeredPem);
    }

    private sealed class Routes(params string[] names) : IServiceRouteTable
    {
        private readonly ServiceRoute[] _routes = [.. names.Select(n => new ServiceRoute(n, new ServiceSpec { Name = n, Driver = "process" }, [], false, ""))];
        public ServiceRoute? Find(string service) => _routes.FirstOrDefault(r => r.Name == service);
        public IReadOnlyCollection<ServiceRoute> All => _routes;
        public bool Loaded => true;
        public DateTimeOffset? RefreshedAt => DateTimeOffset.UtcNow;
    }
}
