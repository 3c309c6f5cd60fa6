using Microsoft.Extensions.DependencyInjection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using VirtualCluster.Api;
using VirtualCluster.ControlPlane.Tests.Failover;
using VirtualCluster.ControlPlane.Tls;

namespace VirtualCluster.ControlPlane.Tests.Tls;

/// <summary>
/// The gateways' share of the cluster store: keys sealed at rest, certificates checked against their name and key,
/// newer-wins, one order lease holder at a time (with expiry on virtual time), and domain checks in service views.
/// The end-to-end proof with real gateways and Pebble is GatewayDomainTests (integration tests).
/// </summary>
public sealed class GatewayStoreTests : ClusterTestBase
{
    private static (string Chain, string Key) Certificate(string name, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(notAfter.AddDays(-30), notAfter);
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    [Fact]
    public async Task A_stored_key_is_sealed_at_rest_and_opens_for_the_same_name_only_newer_certificates_replace_it()
    {
        var store = new GatewayStore(Store, Time);
        var (chain, key) = Certificate("app.example.com", Time.GetUtcNow().AddDays(90));
        var (notAfter, problem, _) = await store.PutCertificateAsync("app.example.com", chain, key, default);
        Assert.Null(problem);
        Assert.NotNull(notAfter);

        var raw = await Store.GetSettingAsync("gateway-certificate/app.example.com");
        Assert.DoesNotContain("PRIVATE KEY", raw!, StringComparison.Ordinal);
        Assert.Contains("vcs1:", raw!, StringComparison.Ordinal);
        var opened = (await store.GetCertificateAsync("app.example.com", default))!;
        Assert.Equal(key, opened.PrivateKeyPem); // positive control: it opens

        // The sealed key copied under another name does not open (the name is bound in).
        await Store.ReplaceSettingAsync("gateway-certificate/other.example.com", null, raw!);
        await Assert.ThrowsAnyAsync<CryptographicException>(() => store.GetCertificateAsync("other.example.com", default));

        var older = Certificate("app.example.com", Time.GetUtcNow().AddDays(30));
        Assert.True((await store.PutCertificateAsync("app.example.com", older.Chain, older.Key, default)).Conflict);
        var newer = Certificate("app.example.com", Time.GetUtcNow().AddDays(120));
        Assert.Null((await store.PutCertificateAsync("app.example.com", newer.Chain, newer.Key, default)).Problem);
        Assert.Equal(newer.Key, (await store.GetCertificateAsync("app.example.com", default))!.PrivateKeyPem);
    }

    [Fact]
    public async Task A_stored_gateway_certificate_whose_renewal_is_overdue_raises_CertificateExpiring()
    {
        var store = new GatewayStore(Store, Time);
        // Both certificates live 30 days (Certificate() above): a gateway renews them with 10 days left, so the
        // alert's window is 5 days. One has 20 days left (renewal not due), one 3 days (renewal failing for a week).
        var fresh = Certificate("fresh.example.com", Time.GetUtcNow().AddDays(20));
        var stale = Certificate("stale.example.com", Time.GetUtcNow().AddDays(3));
        Assert.Null((await store.PutCertificateAsync("fresh.example.com", fresh.Chain, fresh.Key, default)).Problem);
        Assert.Null((await store.PutCertificateAsync("stale.example.com", stale.Chain, stale.Key, default)).Problem);
        Time.Advance(TimeSpan.FromSeconds(2)); // past the names cache

        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddSingleton(store).BuildServiceProvider();
        var credentials = await new VirtualCluster.ControlPlane.Alerts.CredentialFacts(services, new VirtualCluster.ControlPlane.Alerts.AlertOptions(), Time).ReadAsync(default);
        Assert.Equal(["gateway/fresh.example.com", "gateway/stale.example.com"], credentials.Select(c => c.Name).Order().ToArray());
        Assert.All(credentials, c => Assert.Equal(TimeSpan.FromDays(5), c.Window));

        var alert = Assert.Single(new VirtualCluster.ControlPlane.Alerts.AlertRules(new VirtualCluster.ControlPlane.Alerts.AlertOptions()).Evaluate([], [], Time.GetUtcNow(), credentials: credentials));
        Assert.Equal("CertificateExpiring", alert.Labels["alertname"]);
        Assert.Contains("stale.example.com", alert.Annotations["description"]);
    }

    [Fact]
    public async Task A_certificate_for_another_name_or_with_a_key_that_does_not_match_is_refused()
    {
        var store = new GatewayStore(Store, Time);
        var (chain, key) = Certificate("app.example.com", Time.GetUtcNow().AddDays(90));
        Assert.Contains("not www.example.com", (await store.PutCertificateAsync("www.example.com", chain, key, default)).Problem);
        var other = Certificate("app.example.com", Time.GetUtcNow().AddDays(90));
        Assert.Contains("PEM", (await store.PutCertificateAsync("app.example.com", chain, other.Key, default)).Problem);
        Assert.Null(await Store.GetSettingAsync("gateway-certificate/app.example.com"));
    }

    [Fact]
    public async Task One_gateway_holds_the_order_lease_until_it_releases_it_or_it_runs_out()
    {
        var store = new GatewayStore(Store, Time);
        Assert.True((await store.LeaseAsync("app.example.com", "edge-1", 300, default)).Granted);
        var refused = await store.LeaseAsync("app.example.com", "edge-2", 300, default);
        Assert.False(refused.Granted);
        Assert.Equal("edge-1", refused.Holder);
        Assert.True((await store.LeaseAsync("www.example.com", "edge-2", 300, default)).Granted); // another name is free

        Time.Advance(TimeSpan.FromSeconds(301)); // edge-1 never released it: it runs out
        Assert.True((await store.LeaseAsync("app.example.com", "edge-2", 300, default)).Granted);
        Assert.False((await store.LeaseAsync("app.example.com", "edge-1", 0, default)).Granted); // releasing what it does not hold changes nothing
        Assert.False((await store.LeaseAsync("app.example.com", "edge-1", 300, default)).Granted);
        Assert.True((await store.LeaseAsync("app.example.com", "edge-2", 0, default)).Granted);
        Assert.True((await store.LeaseAsync("app.example.com", "edge-1", 300, default)).Granted);
    }

    [Fact]
    public async Task Domain_checks_show_in_the_view_and_a_fresh_verified_is_not_undone_by_another_gateway()
    {
        await JoinAsync("node-1");
        await DeployAsync(Spec("web", replicas: 1, extra: """, "domains": ["app.example.com", "www.example.com"]"""));
        var store = new GatewayStore(Store, Time);
        await store.RecordChecksAsync("edge-1", [new DomainCheck("app.example.com", true), new DomainCheck("www.example.com", false, "www.example.com does not exist (NXDOMAIN)")], default);
        await store.RecordChecksAsync("edge-2", [new DomainCheck("app.example.com", false, "resolves elsewhere")], default);
        Time.Advance(TimeSpan.FromSeconds(2));
        var view = GatewayStoreEndpoints.WithDomains(await ViewAsync("web"), await store.NamesAsync(default));
        var app = view.Domains!.Single(d => d.Name == "app.example.com");
        Assert.True(app.Verified);
        Assert.Null(app.Url); // no certificate yet
        var www = view.Domains!.Single(d => d.Name == "www.example.com");
        Assert.False(www.Verified);
        Assert.Contains("NXDOMAIN", www.Problem);

        var (chain, key) = Certificate("app.example.com", Time.GetUtcNow().AddDays(90));
        await store.PutCertificateAsync("app.example.com", chain, key, default);
        Time.Advance(TimeSpan.FromSeconds(2));
        view = GatewayStoreEndpoints.WithDomains(await ViewAsync("web"), await store.NamesAsync(default));
        Assert.Equal("https://app.example.com/", view.Domains!.Single(d => d.Name == "app.example.com").Url);
    }

    [Fact]
    public async Task A_domain_claimed_by_another_service_is_refused_with_the_owner_named()
    {
        await JoinAsync("node-1", memory: 16 * Gi);
        await DeployAsync(Spec("web", replicas: 1, extra: """, "domains": ["app.example.com"]"""));
        var outcome = await Cluster.DeployAsync(Spec("api", replicas: 1, extra: """, "domains": ["APP.example.com."]"""), default);
        Assert.Equal(400, outcome.StatusCode);
        Assert.Equal("domains[0]", Assert.Single(outcome.Error!.Errors!).Field);
        Assert.Contains("already claimed by service \"web\"", outcome.Error.Error, StringComparison.Ordinal);
        Assert.Equal(201, (await Cluster.DeployAsync(Spec("api", replicas: 1, extra: """, "domains": ["api.example.com"]"""), default)).StatusCode);
    }

    [Theory]
    [InlineData("\"*.example.com\"", "wildcard")]
    [InlineData("\"10.0.0.1\"", "IP address")]
    [InlineData("\"localhost\"", "two labels")]
    [InlineData("\"bad_name.example.com\"", "not a DNS name")]
    [InlineData("\"a.example.com\", \"A.example.com\"", "listed twice")]
    [InlineData("\"s1.x.io\",\"s2.x.io\",\"s3.x.io\",\"s4.x.io\",\"s5.x.io\",\"s6.x.io\",\"s7.x.io\",\"s8.x.io\",\"s9.x.io\",\"s10.x.io\",\"s11.x.io\"", "at most 10")]
    [InlineData("7", "must be a string")]
    public void Bad_domains_are_spec_errors_naming_the_entry(string domains, string expected)
    {
        var parsed = ServiceSpecParser.Parse($$"""{ "name": "web", "command": "x", "domains": [{{domains}}] }""");
        Assert.False(parsed.Succeeded);
        var error = Assert.Single(parsed.Errors);
        Assert.StartsWith("domains", error.Field, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Good_domains_are_folded_to_lower_case_and_written_back()
    {
        var parsed = ServiceSpecParser.Parse("""{ "name": "web", "command": "x", "domains": ["App.Example.com.", "1password.example.com"] }""");
        Assert.True(parsed.Succeeded, string.Join("; ", parsed.Errors.Select(e => e.Message)));
        Assert.Equal(["app.example.com", "1password.example.com"], parsed.Spec!.Domains);
        Assert.Equal(parsed.Spec.Domains, ServiceSpecParser.Parse(ServiceSpecParser.ToJson(parsed.Spec)).Spec!.Domains);
    }
}
