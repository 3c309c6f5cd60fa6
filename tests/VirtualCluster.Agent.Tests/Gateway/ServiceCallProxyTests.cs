using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Agent.Gateway;
using VirtualCluster.Routing.ServiceCalls;
using Xunit;

namespace VirtualCluster.Agent.Tests.Gateway;

/// <summary>
/// The agent's local service addresses: a real HTTP client connects to the port of a service; the "gateway" is the
/// other end of an in-memory stream pair that answers as a gateway would. Refusals become HTTP errors that say why.
/// </summary>
public sealed class ServiceCallProxyTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-calls-").FullName;
    private ServiceCallProxy _proxy = null!;

    public Task InitializeAsync()
    {
        _proxy = new ServiceCallProxy(new AgentOptions { DataDirectory = _dir, Gateways = "http://gw:1" }, null, NullLogger<ServiceCallProxy>.Instance, TimeProvider.System);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Each_service_gets_a_variable_with_its_normalised_name()
    {
        var port = _proxy.Listen("my-db");
        Assert.True(port > 0);
        Assert.Equal($"http://127.0.0.1:{port}", _proxy.Environment()["VC_SERVICE_MY_DB_URL"]);
    }

    [Fact]
    public async Task A_connected_call_carries_the_request_and_the_response()
    {
        var port = _proxy.Listen("web");
        string? asked = null;
        _proxy.OpenToGateway = (_, _) => Gateway(async s =>
        {
            asked = await ServiceCallProtocol.ReadRequestAsync(s);
            await ServiceCallProtocol.WriteAnswerAsync(s, ServiceCallStatus.Connected, "web-1");
            var head = new byte[4096];
            _ = await s.ReadAsync(head); // the request head
            await s.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nfrom web\n"u8.ToArray());
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("from web\n", await http.GetStringAsync($"http://127.0.0.1:{port}/"));
        Assert.Equal("web", asked);
    }

    [Fact]
    public async Task A_service_the_gateway_does_not_know_is_a_404_with_the_gateways_reason()
    {
        var port = _proxy.Listen("gone");
        _proxy.OpenToGateway = (_, _) => Gateway(async s =>
        {
            await ServiceCallProtocol.ReadRequestAsync(s);
            await ServiceCallProtocol.WriteAnswerAsync(s, ServiceCallStatus.UnknownService, "no service named \"gone\" is deployed");
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync($"http://127.0.0.1:{port}/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no service named \"gone\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Without_a_tunnel_a_call_is_a_503_with_retry_after_and_the_port_keeps_working()
    {
        var port = _proxy.Listen("web");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using (var response = await http.GetAsync($"http://127.0.0.1:{port}/"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Contains("no tunnel to a gateway", await response.Content.ReadAsStringAsync());
        }
        // A gateway that answers garbage ends that call only; the next call still works.
        _proxy.OpenToGateway = (_, _) => Gateway(async s =>
        {
            await ServiceCallProtocol.ReadRequestAsync(s);
            await s.WriteAsync(new byte[] { 200, 0, 0 });
        });
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://127.0.0.1:{port}/"));
        _proxy.OpenToGateway = (_, _) => Gateway(async s =>
        {
            await ServiceCallProtocol.ReadRequestAsync(s);
            await ServiceCallProtocol.WriteAnswerAsync(s, ServiceCallStatus.NoInstance, "failing over");
        });
        using var again = await http.GetAsync($"http://127.0.0.1:{port}/");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        Assert.Contains("failing over", await again.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Past_the_connection_limit_a_new_connection_is_closed_and_the_held_ones_still_finish()
    {
        await using var proxy = new ServiceCallProxy(new AgentOptions { DataDirectory = _dir, Gateways = "http://gw:1", MaxServiceCallConnections = 1 },
            null, NullLogger<ServiceCallProxy>.Instance, TimeProvider.System);
        var port = proxy.Listen("web");
        var release = new TaskCompletionSource();
        var asked = new TaskCompletionSource();
        proxy.OpenToGateway = (_, _) => Gateway(async s =>
        {
            await ServiceCallProtocol.ReadRequestAsync(s);
            asked.TrySetResult();
            await release.Task;
            await ServiceCallProtocol.WriteAnswerAsync(s, ServiceCallStatus.UnknownService, "no service named \"web\"");
        });
        using var held = new System.Net.Sockets.TcpClient();
        await held.ConnectAsync(IPAddress.Loopback, port);
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the first connection is being served

        using var refused = new System.Net.Sockets.TcpClient();
        await refused.ConnectAsync(IPAddress.Loopback, port);
        var read = await refused.GetStream().ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, read); // closed at once, nothing sent

        release.SetResult();
        using var reader = new StreamReader(held.GetStream());
        Assert.Equal("HTTP/1.1 404 Not Found", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
        // The slot is free again.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var again = await http.GetAsync($"http://127.0.0.1:{port}/");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    /// <summary>A stream to a fake gateway that runs <paramref name="serve"/> on the other end, then closes it.</summary>
    private static Task<Stream> Gateway(Func<Stream, Task> serve)
    {
        var (agent, gateway) = StreamPair.Create();
        _ = Task.Run(async () =>
        {
            await using var _ = gateway;
            try { await serve(gateway); } catch (Exception) { }
        });
        return Task.FromResult(agent);
    }
}
