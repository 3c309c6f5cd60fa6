using Microsoft.Extensions.Time.Testing;

namespace VirtualCluster.Security.Tests;

public sealed class JoinTokenIssueTests
{
    private static readonly TokenKeyRing Key = TokenKeyRing.CreateEphemeral();

    [Fact]
    public async Task A_join_token_carries_its_id_and_expires_when_asked()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2031-01-01T10:00:00Z"));
        var tokens = new TokenService(Key, timeProvider: time, audience: "vc-1");
        var (token, id) = tokens.IssueJoinToken(TimeSpan.FromMinutes(30));
        var principal = (await tokens.ValidateAsync(token)).Principal!;
        Assert.Equal((TokenRoles.Join, id, time.GetUtcNow().AddMinutes(30)), (principal.Role, principal.TokenId, principal.ExpiresAt!.Value));
        time.Advance(TimeSpan.FromMinutes(31));
        Assert.Contains("expired", (await tokens.ValidateAsync(token)).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_join_tokens_never_share_an_id()
    {
        var tokens = new TokenService(Key);
        Assert.NotEqual(tokens.IssueJoinToken(TimeSpan.FromHours(1)).Id, tokens.IssueJoinToken(TimeSpan.FromHours(1)).Id);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-60)]
    [InlineData(31 * 24 * 3600)]
    public void Lifetimes_out_of_range_are_refused(int seconds) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenService(Key).IssueJoinToken(TimeSpan.FromSeconds(seconds)));
}
