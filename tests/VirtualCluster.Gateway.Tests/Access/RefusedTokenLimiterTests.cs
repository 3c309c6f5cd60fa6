using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Gateway.Access;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Tests.Access;

/// <summary>Forged and garbage tokens are limited per client address before any signature work.</summary>
public sealed class RefusedTokenLimiterTests
{
    private static readonly DateTimeOffset Start = new(2031, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly FakeTimeProvider clock = new(Start);
    private readonly TokenService tokens;
    private readonly CountingValidator validator;
    private readonly ServiceAccessChecker checker;

    public RefusedTokenLimiterTests()
    {
        tokens = new TokenService(TokenKeyRing.CreateEphemeral(), timeProvider: clock, audience: "cluster-a");
        validator = new CountingValidator(new TokenServiceValidator(tokens));
        checker = new ServiceAccessChecker(validator, Options.Create(new ServiceAccessOptions { RefusedTokenBurst = 20, RefusedTokensPerSecond = 2 }), clock);
    }

    /// <summary>Counts the validations that reached the real validator (the signature work).</summary>
    private sealed class CountingValidator(IServiceTokenValidator inner) : IServiceTokenValidator
    {
        public int Calls;

        public Task<TokenValidation> ValidateAsync(string token, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            return inner.ValidateAsync(token, cancellationToken);
        }
    }

    private static DefaultHttpContext Request(string client, string token)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Host = new HostString("hello.localhost:8080");
        context.Request.Headers.Authorization = "Bearer " + token;
        context.Connection.RemoteIpAddress = IPAddress.Parse(client);
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Forged(int i) => $"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4{i}In0.{Convert.ToBase64String(BitConverter.GetBytes(i)).TrimEnd('=')}";

    private async Task<int> StatusOf(string client, string token)
    {
        var context = Request(client, token);
        var allowed = await checker.CheckAsync(context, "hello", ServiceAccess.Token);
        return allowed ? 200 : context.Response.StatusCode;
    }

    [Fact]
    public async Task A_flood_of_forged_tokens_from_one_address_is_refused_with_429_without_signature_work()
    {
        for (var i = 0; i < 20; i++) Assert.Equal(401, await StatusOf("203.0.113.7", Forged(i)));
        Assert.Equal(20, validator.Calls);

        var limited = Request("203.0.113.7", Forged(99));
        Assert.False(await checker.CheckAsync(limited, "hello", ServiceAccess.Token));
        Assert.Equal(429, limited.Response.StatusCode);
        Assert.Equal("1", limited.Response.Headers.RetryAfter.ToString());
        Assert.Contains("Too many refused access tokens", System.Text.Encoding.UTF8.GetString(((MemoryStream)limited.Response.Body).ToArray()));
        for (var i = 100; i < 1100; i++) Assert.Equal(429, await StatusOf("203.0.113.7", Forged(i)));
        Assert.Equal(20, validator.Calls); // a thousand more forged tokens: not one of them was parsed or checked

        // Positive control: another address is still checked (and refused on its merits).
        Assert.Equal(401, await StatusOf("198.51.100.1", Forged(5000)));
        Assert.Equal(21, validator.Calls);

        // The budget refills at the configured rate: half a second later, one more check.
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(401, await StatusOf("203.0.113.7", Forged(6000)));
        Assert.Equal(429, await StatusOf("203.0.113.7", Forged(6001)));
        Assert.Equal(22, validator.Calls);
    }

    [Fact]
    public async Task Valid_tokens_give_their_check_back_so_a_busy_legitimate_client_is_never_limited()
    {
        var valid = tokens.IssueServiceToken("hello", TimeSpan.FromHours(1));
        var other = tokens.IssueServiceToken("other", TimeSpan.FromHours(1));
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(200, await StatusOf("203.0.113.8", valid));
            Assert.Equal(403, await StatusOf("203.0.113.8", other)); // valid, wrong service: not a forgery either
        }
        // Typos now and then (fewer than the burst) do not lock the client out.
        for (var i = 0; i < 19; i++) Assert.Equal(401, await StatusOf("203.0.113.8", Forged(i)));
        Assert.Equal(200, await StatusOf("203.0.113.8", valid));
        Assert.Equal(420, validator.Calls);
    }

    [Fact]
    public async Task Requests_without_a_token_are_not_counted()
    {
        for (var i = 0; i < 100; i++)
        {
            var context = Request("203.0.113.9", "x");
            context.Request.Headers.Remove("Authorization");
            Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
            Assert.Equal(401, context.Response.StatusCode);
        }
        Assert.Equal(0, validator.Calls);
        Assert.Equal(401, await StatusOf("203.0.113.9", Forged(1))); // the whole burst is still there
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:192.0.2.1", "192.0.2.1", true)]
    [InlineData("192.0.2.1", "192.0.2.2", false)]
    public void Ipv6_addresses_are_counted_per_64_and_mapped_ipv4_as_ipv4(string a, string b, bool same)
    {
        Assert.Equal(same, RefusedTokenLimiter.KeyOf(IPAddress.Parse(a)) == RefusedTokenLimiter.KeyOf(IPAddress.Parse(b)));
        Assert.Equal("unknown", RefusedTokenLimiter.KeyOf(null));
    }

    [Fact]
    public void Memory_stays_bounded_when_a_flood_comes_from_many_addresses()
    {
        var limiter = new RefusedTokenLimiter(ratePerSecond: 1, burst: 3, maxAddresses: 100, clock);
        for (var i = 0; i < 5000; i++)
        {
            var address = new IPAddress(BitConverter.GetBytes(0x0A000000 + i));
            Assert.True(limiter.TryTake(address, out _));
            Assert.True(limiter.Count <= 100, $"{limiter.Count} addresses tracked after {i + 1}");
        }
        // Positive control: within the bound, an address's budget is really kept.
        var one = IPAddress.Parse("192.0.2.50");
        for (var i = 0; i < 3; i++) Assert.True(limiter.TryTake(one, out _));
        Assert.False(limiter.TryTake(one, out var retry));
        Assert.Equal(TimeSpan.FromSeconds(1), retry);
    }

    [Theory]
    [InlineData(0, 20, 100, "RefusedTokensPerSecond")]
    [InlineData(double.NaN, 20, 100, "RefusedTokensPerSecond")]
    [InlineData(2, 0, 100, "RefusedTokenBurst")]
    [InlineData(2, 20, 0, "MaxTrackedAddresses")]
    public void Bad_limits_are_refused_naming_the_option(double rate, int burst, int max, string option)
    {
        var options = new ServiceAccessOptions { RefusedTokensPerSecond = rate, RefusedTokenBurst = burst, MaxTrackedAddresses = max };
        var result = new ServiceAccessOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(option, result.FailureMessage);
        var e = Assert.Throws<OptionsValidationException>(() => new ServiceAccessChecker(validator, Options.Create(options), clock));
        Assert.Contains(option, e.Message);
    }
}
