using System.Text;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace VirtualCluster.Security.Tests;

public sealed class ServiceTokenTests
{
    private static readonly DateTimeOffset Start = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);
    private readonly FakeTimeProvider clock = new(Start);
    private readonly TokenKeyRing key = TokenKeyRing.CreateEphemeral();

    private TokenService Service(string? audience = "cluster-a") => new(key, timeProvider: clock, audience: audience);

    [Fact]
    public async Task Service_token_carries_scope_audience_and_expiry()
    {
        var tokens = Service();
        var token = tokens.IssueServiceToken("hello", TimeSpan.FromHours(1));

        var result = await tokens.ValidateAsync(token);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(TokenRoles.Service, result.Principal.Role);
        Assert.Equal("service:hello", result.Principal.Subject);
        Assert.Equal("hello", result.Principal.Service);
        Assert.Equal("cluster-a", result.Principal.Audience);
        Assert.Equal(Start.AddHours(1), result.Principal.ExpiresAt);
        var jwt = new JsonWebToken(token);
        Assert.Equal("service:hello", jwt.GetPayloadValue<string>("scope"));
        Assert.Equal(["cluster-a"], jwt.Audiences);
    }

    [Fact]
    public async Task Service_token_of_another_cluster_with_the_same_key_is_rejected()
    {
        var token = Service("cluster-b").IssueServiceToken("hello", TimeSpan.FromHours(1));

        var result = await Service("cluster-a").ValidateAsync(token);

        Assert.False(result.IsValid);
        Assert.Contains("another cluster", result.Error);
    }

    [Fact]
    public async Task Expired_service_token_is_rejected()
    {
        var tokens = Service();
        var token = tokens.IssueServiceToken("hello", TimeSpan.FromMinutes(5));
        clock.Advance(TimeSpan.FromMinutes(5));

        var result = await tokens.ValidateAsync(token);

        Assert.False(result.IsValid);
        Assert.Contains("expired", result.Error);
    }

    [Fact]
    public async Task Service_role_without_expiry_or_scope_is_rejected_even_when_signed_with_the_key()
    {
        // Hand-made tokens with the cluster's key but missing parts a service token must have.
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var credentials = key.Signer!.Credentials;
        string Make(bool expiry, bool scope) => handler.CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = TokenService.DefaultIssuer,
            Audience = "cluster-a",
            Expires = expiry ? Start.AddHours(1).UtcDateTime : null,
            SigningCredentials = credentials,
            Claims = scope
                ? new Dictionary<string, object> { ["sub"] = "service:hello", ["role"] = "service", ["scope"] = "service:hello" }
                : new Dictionary<string, object> { ["sub"] = "service:hello", ["role"] = "service" },
        });

        var tokens = Service();
        Assert.True((await tokens.ValidateAsync(Make(expiry: true, scope: true))).IsValid);
        Assert.Equal("service token has no expiry", (await tokens.ValidateAsync(Make(expiry: false, scope: true))).Error);
        Assert.Equal("service token has no valid service scope", (await tokens.ValidateAsync(Make(expiry: true, scope: false))).Error);
    }

    [Fact]
    public async Task Unsigned_alg_none_service_token_is_rejected()
    {
        var tokens = Service();
        var good = tokens.IssueServiceToken("hello", TimeSpan.FromHours(1));
        var parts = good.Split('.');
        var header = Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        var result = await tokens.ValidateAsync($"{header}.{parts[1]}.");

        Assert.False(result.IsValid);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Hello")]
    [InlineData("-x")]
    [InlineData("a_b")]
    public void Issue_rejects_names_that_are_not_service_names(string name)
    {
        Assert.ThrowsAny<ArgumentException>(() => Service().IssueServiceToken(name, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Issue_rejects_lifetimes_out_of_range_and_a_service_without_audience()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Service().IssueServiceToken("hello", TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => Service().IssueServiceToken("hello", TimeSpan.FromDays(31)));
        Assert.Throws<ArgumentException>(() => Service(audience: null).IssueServiceToken("hello", TimeSpan.FromHours(1)));
        Assert.Throws<ArgumentException>(() => Service().Issue("x", TokenRoles.Service));
    }

    [Fact]
    public async Task Machine_tokens_carry_the_audience_and_older_tokens_without_one_still_validate()
    {
        var tokens = Service();
        var machine = await tokens.ValidateAsync(tokens.Issue("node-1", TokenRoles.Machine));
        var legacy = await tokens.ValidateAsync(Service(audience: null).Issue("admin", TokenRoles.Admin));

        Assert.Equal("cluster-a", machine.Principal?.Audience);
        Assert.True(legacy.IsValid, legacy.Error);
        Assert.Null(legacy.Principal.Audience);
    }

    private static string Base64Url(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
