using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Tests.Access;

/// <summary>The cookie exchange in a real browser: headless Chromium opens a token link, then the bare URL.</summary>
public sealed class AccessChromiumTests : IAsyncLifetime
{
    private readonly TokenService tokens = new(TokenKeyRing.CreateEphemeral(), audience: "cluster-test");
    private WebApplication? app;
    private int port;

    public async Task InitializeAsync() => (app, port) = await AccessServer.StartAsync(tokens);

    public async Task DisposeAsync()
    {
        if (app is not null) await app.DisposeAsync();
    }

    [Fact]
    public async Task Browser_exchanges_the_link_token_for_an_httponly_cookie_and_keeps_access_without_it()
    {
        await using var browser = await HeadlessChromium.StartAsync();
        var token = tokens.IssueServiceToken("secret", TimeSpan.FromHours(1));
        var baseUrl = $"http://secret.localhost:{port}";

        // Positive control first: without a token the browser gets the 401 page.
        var refused = await browser.OpenAsync($"{baseUrl}/", s => s.Body.Contains("needs an access token", StringComparison.Ordinal));
        Assert.Contains("vcluster token create --service secret", refused.Body);

        var first = await browser.OpenAsync($"{baseUrl}/docs?page=2&vc_token={token}", s => s.Body.StartsWith('{'));
        Assert.Equal($"{baseUrl}/docs?page=2", first.Href); // redirected: the token left the address bar
        var seen = JsonDocument.Parse(first.Body).RootElement;
        Assert.Equal("?page=2", seen.GetProperty("query").GetString());
        Assert.Equal("", seen.GetProperty("cookie").GetString()); // the service never saw the token
        Assert.Equal("", first.Cookie); // HttpOnly: invisible to scripts

        var again = await browser.OpenAsync($"{baseUrl}/other", s => s.Body.StartsWith('{'));
        Assert.Equal($"{baseUrl}/other", again.Href);
        Assert.Equal("", JsonDocument.Parse(again.Body).RootElement.GetProperty("authorization").GetString());
    }
}
