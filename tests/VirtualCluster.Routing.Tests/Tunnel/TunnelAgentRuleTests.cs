using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Routing.Tunnel;

namespace VirtualCluster.Routing.Tests.Tunnel;

/// <summary>
/// The agent's own connect rule (the one TunnelClient runs) behind a real tunnel, with real loopback sockets: a stream
/// reaches only an instance's port, and only when something listens there; both refusals say which.
/// </summary>
public sealed class TunnelAgentRuleTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly TcpListener listening = new(IPAddress.Loopback, 0);
    private readonly HashSet<int> instancePorts = [];
    private TunnelMux gateway = null!;
    private TunnelMux agent = null!;
    private Task runs = Task.CompletedTask;

    public Task InitializeAsync()
    {
        listening.Start();
        var (a, b) = DuplexPipe.Create();
        agent = new TunnelMux(a, isDialer: true, new TunnelOptions(), (port, ct) => TunnelClient.ConnectLocalAsync(instancePorts.Contains, port, ct), NullLogger.Instance);
        gateway = new TunnelMux(b, isDialer: false, new TunnelOptions(), connect: null, NullLogger.Instance);
        runs = Task.WhenAll(agent.RunAsync(), gateway.RunAsync());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await gateway.DisposeAsync().AsTask().WaitAsync(Deadline);
        await agent.DisposeAsync().AsTask().WaitAsync(Deadline);
        await runs.WaitAsync(Deadline);
        listening.Stop();
    }

    private int ListeningPort => ((IPEndPoint)listening.LocalEndpoint).Port;

    private static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port; // free again once stopped: nothing listens there
    }

    [Fact]
    public async Task A_listening_port_that_is_no_instances_is_refused()
    {
        var e = await Assert.ThrowsAsync<TunnelRefusedException>(() => gateway.OpenAsync(ListeningPort).WaitAsync(Deadline));
        Assert.Contains($"port {ListeningPort} is not a port of an instance", e.Message);
    }

    [Fact]
    public async Task An_instance_port_with_nothing_listening_is_refused_and_a_listening_one_is_connected()
    {
        var closed = ClosedPort();
        instancePorts.Add(closed);
        var e = await Assert.ThrowsAsync<TunnelRefusedException>(() => gateway.OpenAsync(closed).WaitAsync(Deadline));
        Assert.Contains($"nothing answers on 127.0.0.1:{closed}", e.Message);

        // Positive control: an instance port with a listener gets a working stream through the same tunnel.
        instancePorts.Add(ListeningPort);
        await using var stream = await gateway.OpenAsync(ListeningPort).WaitAsync(Deadline);
        using var accepted = await listening.AcceptTcpClientAsync().WaitAsync(Deadline);
        await stream.WriteAsync("ping"u8.ToArray());
        var buffer = new byte[4];
        await accepted.GetStream().ReadExactlyAsync(buffer).AsTask().WaitAsync(Deadline);
        Assert.Equal("ping"u8.ToArray(), buffer);
    }
}
