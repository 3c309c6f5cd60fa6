namespace VirtualCluster.ControlPlane.Tests.Api;

public sealed class ServiceUrlOptionsTests
{
    [Theory]
    [InlineData("http://{service}.localhost:8080/", null, "http://web.localhost:8080/")]
    [InlineData(null, "apps.example.com", "https://web.apps.example.com/")]
    [InlineData(null, null, null)]
    public void Url_comes_from_the_template_or_the_cluster_domain(string? template, string? domain, string? expected) =>
        Assert.Equal(expected, new ServiceUrlOptions { GatewayUrl = template, ClusterDomain = domain }.UrlFor("web"));

    [Theory]
    [InlineData("http://gateway.example.com/", null, "no {service} placeholder")]
    [InlineData("ftp://{service}.example.com/", null, "not an http or https URL")]
    [InlineData("http://{service}.{oops}/", null, "not an http or https URL")]
    [InlineData(null, "bad domain!", "not a DNS name")]
    public void Validator_names_the_setting_and_the_fix(string? template, string? domain, string message)
    {
        var result = new ServiceUrlOptionsValidator().Validate(null, new ServiceUrlOptions { GatewayUrl = template, ClusterDomain = domain });
        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage);
    }

    [Fact]
    public void Validator_accepts_the_local_default() =>
        Assert.True(new ServiceUrlOptionsValidator().Validate(null, new ServiceUrlOptions { GatewayUrl = "http://{service}.localhost:8080/" }).Succeeded);
}
