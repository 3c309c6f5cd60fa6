using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VirtualCluster.Gateway.Access;
using VirtualCluster.Security;

namespace VirtualCluster.Gateway.Tests.Access;

/// <summary>
/// A real Kestrel server with the access middleware in front of an endpoint that reports what reached it, called by
/// HttpClient under the services' host names (*.localhost, connected to the server's loopback port).
/// </summary>
public sealed class AccessKestrelTests : IAsyncLifetime
{
    private readonly TokenService tokens = new(TokenService.CreateKey(), audience: "cluster-test");
    private WebApplication? app;
    private int port;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(tokens);
        builder.Services.AddServiceAccess();
        app = builder.Build();
        // Two services: "secret" needs a token, "open" is public; the service is the first label of the host.
        app.UseServiceAccess(context => context.Request.Host.Host.Split('.')[0] switch
        {
            "secret" => new ServiceAccessTarget("secret", ServiceAccess.Token),
            "open" => new ServiceAccessTarget("open", ServiceAccess.Public),
            _ => null,
        });
        app.MapGet("/{**path}", (HttpContext context) => Results.Json(new
        {
            authorization = context.Request.Headers.Authorization.ToString(),
            cookie = context.Request.Headers.Cookie.ToString(),
            query = context.Request.QueryString.Value ?? "",
        }));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        port = new Uri(address).Port;
    }

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

    private async Task<HttpResponseMessage> Send(HttpClient client, string service, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url(service));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }
}
