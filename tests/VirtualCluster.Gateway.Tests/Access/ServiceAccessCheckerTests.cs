using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VirtualCluster.Gateway.Access;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Tests.Access;

public sealed class ServiceAccessCheckerTests
{
    private static readonly DateTimeOffset Start = new(2031, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly FakeTimeProvider clock = new(Start);
    private readonly TokenKeyRing key = TokenKeyRing.CreateEphemeral();
    private readonly TokenService tokens;
    private readonly ServiceAccessChecker checker;

    public ServiceAccessCheckerTests()
    {
        tokens = new TokenService(key, timeProvider: clock, audience: "cluster-a");
        checker = new ServiceAccessChecker(tokens, Options.Create(new ServiceAccessOptions()), clock);
    }

    private static DefaultHttpContext Request(string query = "", string? authorization = null, string? cookie = null, string method = "GET", bool https = false)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = https ? "https" : "http";
        context.Request.Host = new HostString("hello.localhost:8080");
        context.Request.Path = "/page";
        context.Request.QueryString = new QueryString(query);
        if (authorization is not null) context.Request.Headers.Authorization = authorization;
        if (cookie is not null) context.Request.Headers.Cookie = cookie;
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Body(HttpContext context) => Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());

    private string Valid(string service = "hello") => tokens.IssueServiceToken(service, TimeSpan.FromHours(1));

    [Fact]
    public async Task Public_service_passes_untouched_including_its_own_authorization()
    {
        var context = Request("?a=1", authorization: "Bearer app-own-token");
        Assert.True(await checker.CheckAsync(context, "hello", ServiceAccess.Public));
        Assert.Equal("Bearer app-own-token", context.Request.Headers.Authorization.ToString());
        Assert.Equal("?a=1", context.Request.QueryString.Value);
    }

    [Fact]
    public async Task No_token_is_401_with_a_bearer_challenge_and_how_to_get_one()
    {
        var context = Request();
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal("Bearer realm=\"hello\"", context.Response.Headers.WWWAuthenticate.ToString());
        Assert.Contains("vcluster token create --service hello", Body(context));
    }

    [Fact]
    public async Task Valid_bearer_token_is_allowed_and_removed_before_forwarding()
    {
        var context = Request("?x=1", authorization: "Bearer " + Valid());
        Assert.True(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.False(context.Request.Headers.ContainsKey("Authorization"));
        Assert.Equal("?x=1", context.Request.QueryString.Value);
    }

    [Fact]
    public async Task Expired_token_is_401()
    {
        var token = tokens.IssueServiceToken("hello", TimeSpan.FromMinutes(1));
        clock.Advance(TimeSpan.FromMinutes(2));
        var context = Request(authorization: "Bearer " + token);
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Contains("error=\"invalid_token\"", context.Response.Headers.WWWAuthenticate.ToString());
        Assert.Contains("expired", Body(context));
    }

    [Fact]
    public async Task Tampered_token_is_401()
    {
        var parts = Valid().Split('.');
        // Change the payload to another service's scope but keep the old signature.
        var payload = Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(parts[1])).Replace("service:hello", "service:admin");
        var forged = $"{parts[0]}.{Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload)}.{parts[2]}";
        var context = Request(authorization: "Bearer " + forged);
        Assert.False(await checker.CheckAsync(context, "admin", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Contains("signature", Body(context));
    }

    [Fact]
    public async Task Unsigned_alg_none_token_is_401()
    {
        var parts = Valid().Split('.');
        var header = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        var context = Request(authorization: $"Bearer {header}.{parts[1]}.");
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
    }

    [Fact]
    public async Task Token_for_another_cluster_is_401_even_with_the_same_key()
    {
        var other = new TokenService(key, timeProvider: clock, audience: "cluster-b").IssueServiceToken("hello", TimeSpan.FromHours(1));
        var context = Request(authorization: "Bearer " + other);
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Contains("another cluster", Body(context));
    }

    [Fact]
    public async Task Token_signed_by_another_key_is_401()
    {
        var other = new TokenService(TokenKeyRing.CreateEphemeral(), timeProvider: clock, audience: "cluster-a").IssueServiceToken("hello", TimeSpan.FromHours(1));
        var context = Request(authorization: "Bearer " + other);
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
    }

    [Fact]
    public async Task Garbage_token_is_401()
    {
        var context = Request(authorization: "Bearer not-a-jwt");
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
    }

    [Fact]
    public async Task Token_of_another_service_is_403_and_names_the_scope_needed()
    {
        var context = Request(authorization: "Bearer " + Valid("other"));
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(403, context.Response.StatusCode);
        Assert.Contains("insufficient_scope", context.Response.Headers.WWWAuthenticate.ToString());
        Assert.Contains("service:hello", Body(context));
    }

    [Fact]
    public async Task Admin_or_machine_token_is_403_not_a_service_token()
    {
        var context = Request(authorization: "Bearer " + tokens.Issue("admin", TokenRoles.Admin));
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(403, context.Response.StatusCode);
        Assert.Contains("admin token", Body(context));
    }

    [Fact]
    public async Task Query_token_on_get_is_exchanged_for_a_host_only_httponly_lax_cookie_and_a_redirect_without_it()
    {
        var token = Valid();
        var context = Request($"?a=1&vc_token={token}&b=2");
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(302, context.Response.StatusCode);
        Assert.Equal("/page?a=1&b=2", context.Response.Headers.Location.ToString());
        var cookie = context.Response.Headers.SetCookie.ToString();
        Assert.StartsWith($"vc_access={token}", cookie);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie);
        Assert.Contains("max-age=3600", cookie);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("domain", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Cookie_is_secure_when_the_request_came_over_https()
    {
        var context = Request($"?vc_token={Valid()}", https: true);
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Contains("secure", context.Response.Headers.SetCookie.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Query_token_on_post_is_accepted_without_redirect_and_stripped()
    {
        var context = Request($"?vc_token={Valid()}&a=1", method: "POST");
        Assert.True(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal("?a=1", context.Request.QueryString.Value);
    }

    [Fact]
    public async Task Invalid_query_token_is_401_and_not_exchanged()
    {
        var context = Request("?vc_token=bogus");
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Equal(0, context.Response.Headers.SetCookie.Count);
    }

    [Fact]
    public async Task Valid_cookie_is_allowed_and_removed_while_other_cookies_stay()
    {
        var context = Request(cookie: $"theme=dark; vc_access={Valid()}; lang=en");
        Assert.True(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal("theme=dark; lang=en", context.Request.Headers.Cookie.ToString());
    }

    [Fact]
    public async Task Expired_cookie_is_401_and_deleted()
    {
        var token = tokens.IssueServiceToken("hello", TimeSpan.FromMinutes(1));
        clock.Advance(TimeSpan.FromMinutes(5));
        var context = Request(cookie: $"vc_access={token}");
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Contains("max-age=0", context.Response.Headers.SetCookie.ToString());
    }

    [Fact]
    public async Task Two_different_query_tokens_are_401()
    {
        var context = Request($"?vc_token={Valid()}&vc_token={Valid()}");
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal(401, context.Response.StatusCode);
        Assert.Contains("several", Body(context));
    }

    [Fact]
    public async Task Refused_requests_are_stripped_too()
    {
        var context = Request("?vc_token=bad&x=1", authorization: "Bearer bad", cookie: "vc_access=bad");
        Assert.False(await checker.CheckAsync(context, "hello", ServiceAccess.Token));
        Assert.Equal("?x=1", context.Request.QueryString.Value);
        Assert.False(context.Request.Headers.ContainsKey("Authorization"));
        Assert.False(context.Request.Headers.ContainsKey("Cookie"));
    }

    [Fact]
    public async Task Public_service_drops_a_stale_access_cookie_only()
    {
        var context = Request(cookie: "vc_access=old; a=b");
        Assert.True(await checker.CheckAsync(context, "hello", ServiceAccess.Public));
        Assert.Equal("a=b", context.Request.Headers.Cookie.ToString());
    }

    [Theory]
    [InlineData("", "vc_token")]
    [InlineData("vc access", "vc_token")]
    [InlineData("vc_access", "a=b")]
    public void Options_validator_rejects_unsafe_names(string cookie, string query)
    {
        var result = new ServiceAccessOptionsValidator().Validate(null, new ServiceAccessOptions { CookieName = cookie, QueryParameter = query });
        Assert.True(result.Failed);
        Assert.Contains("must be 1 to 64 characters", result.FailureMessage);
    }
}
