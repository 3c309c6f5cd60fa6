using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VirtualCluster.Routing;
using VirtualCluster.Routing.ServiceCalls;
using VirtualCluster.Routing.Tunnel;
using Xunit;

namespace VirtualCluster.Gateway.Tests;

/// <summary>
/// The gateway's end of service-to-service calls: a request read from an agent's stream is answered with a clear
/// refusal (unknown service, bad request, nothing running) or connected to a live instance, skipping one that cannot
/// be connected. Real sockets: the instance is an echo server on loopback.
/// </summary>
public sealed class ServiceCallHandlerTests
{
    [Fact]
    public async Task An_unknown_service_is_refused_with_a_message_that_says_so()
    {
        var (status, message, _) = await CallAsync(new Routes(), s => ServiceCallProtocol.WriteRequestAsync(s, "nosuch"));
        Assert.Equal(ServiceCallStatus.UnknownService, status);
        Assert.Contains("no service named \"nosuch\"", message);
    }

    [Fact]
    public async Task A_malformed_request_is_refused_and_the_handler_does_not_throw()
    {
        var (status, message, _) = await CallAsync(new Routes(), s => s.WriteAsync(new byte[] { 9, 3, (byte)'a', (byte)'b', (byte)'c' }).AsTask());
        Assert.Equal(ServiceCallStatus.BadRequest, status);
        Assert.Contains("version 9", message);
        (status, message, _) = await CallAsync(new Routes(), s => s.WriteAsync(new byte[] { 1, 3, (byte)'A', (byte)'/', (byte)' ' }).AsTask());
        Assert.Equal(ServiceCallStatus.BadRequest, status);
        Assert.Contains("characters other than", message);
    }

    [Fact]
    public async Task A_service_with_no_running_instance_is_answered_as_failing_over()
    {
        var routes = new Routes(new ServiceRoute("db", new ServiceSpec { Name = "db", Driver = "process", Replicas = 1 }, [], true, "1 desired, 0 running"));
        var (status, message, _) = await CallAsync(routes, s => ServiceCallProtocol.WriteRequestAsync(s, "db"));
        Assert.Equal(ServiceCallStatus.NoInstance, status);
        Assert.Contains("being started", message);
    }

    [Fact]
    public async Task A_call_skips_an_instance_that_cannot_be_connected_and_carries_bytes_both_ways()
    {
        using var echo = new TcpListener(IPAddress.Loopback, 0);
        echo.Start();
        var port = ((IPEndPoint)echo.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var socket = await echo.AcceptSocketAsync();
            var buffer = new byte[1024];
            int n;
            while ((n = await socket.ReceiveAsync(buffer)) > 0) await socket.SendAsync(buffer.AsMemory(0, n));
            socket.Shutdown(SocketShutdown.Send);
        });
        var routes = new Routes(new ServiceRoute("db", new ServiceSpec { Name = "db", Driver = "process", Replicas = 2 },
            [new ServiceEndpoint("db-dead", "node-dead", "127.0.0.1", port), new ServiceEndpoint("db-live", "node-live", "127.0.0.1", port)], false, "2 running"));
        // The dead node is tried first or second, whichever the selector picks: the call must end on the live one.
        var (status, message, stream) = await CallAsync(routes, s => ServiceCallProtocol.WriteRequestAsync(s, "db"), keep: true);
        await using var owned = stream;
        Assert.Equal(ServiceCallStatus.Connected, status);
        Assert.Equal("db-live", message);
        await stream.WriteAsync(Encoding.ASCII.GetBytes("ping"));
        ((IHalfClosable)stream).CompleteWrites(); // the caller's end of input reaches the instance, which then closes
        using var read = new MemoryStream();
        await stream.CopyToAsync(read).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("ping", Encoding.ASCII.GetString(read.ToArray()));
    }

    private static async Task<(ServiceCallStatus Status, string Message, Stream Stream)> CallAsync(Routes routes, Func<Stream, Task> write, bool keep = false)
    {
        var options = Options.Create(new GatewayOptions { ConnectTimeout = TimeSpan.FromSeconds(2) });
        var dialer = new Dialer();
        var handler = new ServiceCallHandler(routes, new EndpointSelector(dialer, dialer, TimeProvider.System), dialer, dialer, options,
            new GatewayMetrics(), NullLogger<ServiceCallHandler>.Instance);
        var stream = await handler.AcceptAsync("node-caller", ServiceCallProtocol.TunnelPort, CancellationToken.None);
        await write(stream);
        var (status, message) = await ServiceCallProtocol.ReadAnswerAsync(stream).WaitAsync(TimeSpan.FromSeconds(10));
        if (!keep) await stream.DisposeAsync();
        return (status, message, stream);
    }

    private sealed class Routes(params ServiceRoute[] routes) : IServiceRouteTable
    {
        public ServiceRoute? Find(string service) => routes.FirstOrDefault(r => r.Name == service);
        public IReadOnlyCollection<ServiceRoute> All => routes;
        public bool Loaded => true;
        public DateTimeOffset? RefreshedAt => DateTimeOffset.UtcNow;
    }

    /// <summary>Every node has a tunnel; "node-dead" refuses like an agent whose instance is gone, others connect on loopback.</summary>
    private sealed class Dialer : IStreamDialer, INodePaths
    {
        public bool CanReach(string nodeId) => true;

        public bool EverConnected(string nodeId) => true;

        public object PathIdentity(string nodeId) => "tunnel";

        public async ValueTask<Stream> DialAsync(string nodeId, int port, CancellationToken cancellationToken = default)
        {
            if (nodeId == "node-dead") throw new TunnelRefusedException("nothing answers on 127.0.0.1");
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
    }
}
