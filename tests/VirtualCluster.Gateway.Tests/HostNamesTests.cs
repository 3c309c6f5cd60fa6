using VirtualCluster.Gateway;

namespace VirtualCluster.Gateway.Tests;

public sealed class HostNamesTests
{
    [Theory]
    [InlineData("hello.localhost", "hello")]
    [InlineData("HELLO.LocalHost", "hello")]
    [InlineData("my-api.localhost.", "my-api")]
    public void A_service_host_names_the_service(string host, string service)
    {
        Assert.Equal(HostNames.Kind.Service, HostNames.Classify(host, "localhost", out var name, out var error));
        Assert.Equal(service, name);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    [InlineData("gateway.example.com")]
    public void Other_hosts_are_the_gateways_own(string host) =>
        Assert.Equal(HostNames.Kind.Gateway, HostNames.Classify(host, "localhost", out _, out _));

    [Theory]
    [InlineData("", "no Host")]
    [InlineData("a..b.localhost", "not a DNS name")]
    [InlineData("bad_name.localhost", "not a DNS name")]
    [InlineData("-x.localhost", "not a DNS name")]
    [InlineData("x.y.localhost", "more than one name")]
    public void Malformed_hosts_are_invalid_with_the_reason(string host, string reason)
    {
        Assert.Equal(HostNames.Kind.Invalid, HostNames.Classify(host, "localhost", out _, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void An_oversized_host_is_invalid_without_echoing_it_whole()
    {
        var host = new string('a', 5000) + ".localhost";
        Assert.Equal(HostNames.Kind.Invalid, HostNames.Classify(host, "localhost", out _, out var error));
        Assert.Contains("at most 253", error);
        Assert.True(error!.Length < 200);
    }

    [Fact]
    public void A_long_label_is_refused()
    {
        var host = new string('a', 64) + ".localhost";
        Assert.Equal(HostNames.Kind.Invalid, HostNames.Classify(host, "localhost", out _, out _));
    }

    [Fact]
    public void The_options_validator_names_each_bad_option()
    {
        var result = new GatewayOptionsValidator().Validate(null, new GatewayOptions
        {
            Domain = "bad domain", ControlPlaneUrls = "ftp://x", RefreshInterval = TimeSpan.Zero, MaxAttempts = 0,
        });
        Assert.True(result.Failed);
        foreach (var name in new[] { "Domain", "ControlPlaneUrls", "RefreshInterval", "MaxAttempts" }) Assert.Contains(name, result.FailureMessage);
        Assert.True(new GatewayOptionsValidator().Validate(null, new GatewayOptions { ControlPlaneUrls = "http://127.0.0.1:7070" }).Succeeded);
    }

    [Fact]
    public void Requiring_client_certificates_and_allowing_plain_agents_contradict_each_other()
    {
        var both = new GatewayOptionsValidator().Validate(null, new GatewayOptions { RequireClientCertificate = true, AllowPlainAgents = true });
        Assert.True(both.Failed);
        Assert.Contains("--require-client-cert", both.FailureMessage);
        Assert.True(new GatewayOptionsValidator().Validate(null, new GatewayOptions { RequireClientCertificate = true }).Succeeded);
    }

    [Fact]
    public void Stable_urls_leave_out_port_80()
    {
        Assert.Equal("http://hello.localhost:8080/", GatewayUrls.ForService("hello", "localhost", 8080));
        Assert.Equal("http://hello.apps.example.com/", GatewayUrls.ForService("hello", "apps.example.com", 80));
    }
}
