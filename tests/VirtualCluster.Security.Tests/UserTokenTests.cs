using System.Text;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace VirtualCluster.Security.Tests;

public sealed class UserTokenTests
{
    private static readonly DateTimeOffset Start = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);
    private readonly FakeTimeProvider clock = new(Start);
    private readonly TokenKeyRing key = TokenKeyRing.CreateEphemeral();

    private TokenService Service() => new(key, timeProvider: clock, audience: "cluster-a");

    [Theory]
    [InlineData(TokenRoles.Admin)]
    [InlineData(TokenRoles.Operator)]
    [InlineData(TokenRoles.Viewer)]
    public async Task User_token_carries_user_role_generation_and_expiry(string role)
    {
        var tokens = Service();
        var result = await tokens.ValidateAsync(tokens.IssueUserToken("ann", role, "g1", TimeSpan.FromHours(8)));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(("user:ann", role, "ann", "g1"), (result.Principal.Subject, result.Principal.Role, result.Principal.User, result.Principal.UserGeneration));
        Assert.Equal(Start.AddHours(8), result.Principal.ExpiresAt);
    }

    [Fact]
    public async Task Other_tokens_name_no_user()
    {
        var tokens = Service();
        var admin = await tokens.ValidateAsync(tokens.Issue("admin", TokenRoles.Admin));
        Assert.Null(admin.Principal!.User);
        Assert.Null(admin.Principal.UserGeneration);
    }

    [Theory]
    [InlineData("Ann", "admin", "g", 1.0)]
    [InlineData("ann", "machine", "g", 1.0)]
    [InlineData("ann", "service", "g", 1.0)]
    [InlineData("ann", "admin", "", 1.0)]
    [InlineData("ann", "admin", "g", 0.0)]
    [InlineData("ann", "admin", "g", 24 * 91.0)]
    public void Issue_refuses_bad_arguments(string user, string role, string generation, double hours)
    {
        Assert.ThrowsAny<ArgumentException>(() => Service().IssueUserToken(user, role, generation, TimeSpan.FromHours(hours)));
    }

    [Fact]
    public void Plain_issue_cannot_forge_a_user_subject()
    {
        Assert.Throws<ArgumentException>(() => Service().Issue("user:ann", TokenRoles.Admin));
    }

    [Fact]
    public async Task Signed_user_subject_without_generation_or_expiry_is_refused()
    {
        // Signed with the cluster's key, so only the claims' shape can refuse them: an insider's mistake, not an attack.
        var noGeneration = Sign(new() { ["sub"] = "user:ann", ["role"] = "admin" }, expires: Start.AddHours(1));
        var noExpiry = Sign(new() { ["sub"] = "user:ann", ["role"] = "admin", ["ugen"] = "g" }, expires: null);
        var machineRole = Sign(new() { ["sub"] = "user:ann", ["role"] = "machine", ["ugen"] = "g" }, expires: Start.AddHours(1));

        Assert.Equal("user token has no user generation", (await Service().ValidateAsync(noGeneration)).Error);
        Assert.Equal("user token has no expiry", (await Service().ValidateAsync(noExpiry)).Error);
        Assert.Equal("user token has no valid user name or role", (await Service().ValidateAsync(machineRole)).Error);
    }

    [Fact]
    public async Task Token_used_before_its_not_before_time_is_refused_and_accepted_once_it_starts()
    {
        var tokens = Service();
        var later = new TokenService(key, timeProvider: new FakeTimeProvider(Start.AddHours(1)), audience: "cluster-a");
        var token = later.IssueUserToken("ann", TokenRoles.Viewer, "g", TimeSpan.FromHours(8));

        Assert.StartsWith("token is not valid before", (await tokens.ValidateAsync(token)).Error);
        clock.Advance(TimeSpan.FromMinutes(59.5)); // within the minute of allowed clock difference: the positive control
        Assert.True((await tokens.ValidateAsync(token)).IsValid);
    }

    [Fact]
    public async Task Tampered_role_is_refused()
    {
        var token = Service().IssueUserToken("vic", TokenRoles.Viewer, "g", TimeSpan.FromHours(1));
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"viewer\"", "\"admin\"", StringComparison.Ordinal);
        var forged = $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";

        Assert.Equal("token signature is invalid", (await Service().ValidateAsync(forged)).Error);
    }

    private string Sign(Dictionary<string, object> claims, DateTimeOffset? expires)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = TokenService.DefaultIssuer,
            Audience = "cluster-a",
            IssuedAt = Start.UtcDateTime,
            NotBefore = Start.UtcDateTime,
            Expires = expires?.UtcDateTime,
            Claims = claims,
            SigningCredentials = key.Signer!.Credentials,
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}
