using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Tests.Access;

/// <summary>
/// A real Kestrel server with the access middleware in front of an endpoint that reports what reached it, called by
/// HttpClient under the services' host names (*.localhost, connected to the server's loopback port).
/// </summary>
public sealed class AccessKestrelTests : IAsyncLifetime
{
    private readonly TokenService tokens = new(TokenKeyRing.CreateEphemeral(), audience: "cluster-test");
    private WebApplication? app;
    private int port;

    public async Task InitializeAsync() => (app, port) = await AccessServer.StartAsync(tokens);

    public async Task DisposeAsync()
    {
        if (app is not null) await app.DisposeAsync();
    }

    private HttpClient Client(CookieContainer? cookies = null, bool followRedirects = false) => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = followRedirects,
        UseCookies = cookies is not null,
        CookieContainer = cookies ?? new CookieContainer(),
        // Whatever the host name, connect to the test server on loopback.
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    });

    private Uri Url(string service, string pathAndQuery = "/") => new($"http://{service}.localhost:{port}{pathAndQuery}");

    private static async Task<JsonElement> Seen(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Every_row_of_the_access_table_over_real_http()
    {
        using var client = Client();
        var valid = tokens.IssueServiceToken("secret", TimeSpan.FromHours(1));

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(Url("open"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(Url("secret"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(client, "secret", valid[..^4] + "AAAA")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, "secret", tokens.IssueServiceToken("open", TimeSpan.FromHours(1)))).StatusCode);

        var ok = await Send(client, "secret", valid);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("", (await Seen(ok)).GetProperty("authorization").GetString());
    }

    [Fact]
    public async Task Query_token_becomes_a_cookie_and_the_service_never_sees_the_token()
    {
        var cookies = new CookieContainer();
        using var client = Client(cookies, followRedirects: true);
        var token = tokens.IssueServiceToken("secret", TimeSpan.FromHours(1));

        var first = await client.GetAsync(Url("secret", $"/docs?page=2&vc_token={token}"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("/docs?page=2", first.RequestMessage!.RequestUri!.PathAndQuery); // followed the redirect
        var seen = await Seen(first);
        Assert.Equal("?page=2", seen.GetProperty("query").GetString());
        Assert.Equal("", seen.GetProperty("cookie").GetString());
        var cookie = Assert.Single(cookies.GetCookies(Url("secret")));
        Assert.True(cookie.HttpOnly);
        Assert.Equal("vc_access", cookie.Name);
        // Host-only: the cookie is not sent to another service's host.
        Assert.Empty(cookies.GetCookies(Url("open")));

        var again = await client.GetAsync(Url("secret", "/other"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("", (await Seen(again)).GetProperty("cookie").GetString());
    }

    [Fact]
    public async Task Forged_tokens_from_one_client_over_real_http_get_429_after_the_burst_and_valid_ones_pass_elsewhere()
    {
        // A refill slower than any test run, so a slow machine cannot earn an extra check between requests.
        await app!.DisposeAsync();
        (app, port) = await AccessServer.StartAsync(tokens, o => { o.RefusedTokenBurst = 20; o.RefusedTokensPerSecond = 0.001; });
        using var client = Client();
        var valid = tokens.IssueServiceToken("secret", TimeSpan.FromHours(1));
        var forged = valid[..^4] + "AAAA";
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 30; i++) statuses.Add((await Send(client, "secret", forged + i)).StatusCode);
        // 20 refused tokens per address at once (all of these come from 127.0.0.1), then 429 without checking.
        Assert.All(statuses.Take(20), s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.All(statuses.Skip(20), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        var limited = await Send(client, "secret", forged);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.FromSeconds(100), $"Retry-After {limited.Headers.RetryAfter}");
        Assert.Contains("Too many refused access tokens", await limited.Content.ReadAsStringAsync());
        // Public services are not touched by the limit.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(Url("open"))).StatusCode);
    }

    private async Task<HttpResponseMessage> Send(HttpClient client, string service, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url(service));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }
}
