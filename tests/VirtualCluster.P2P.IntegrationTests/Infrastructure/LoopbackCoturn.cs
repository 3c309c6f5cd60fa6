using System.Net;
using System.Net.Sockets;

namespace VirtualCluster.P2P.IntegrationTests.Infrastructure;

/// <summary>coturn on 127.0.0.1 at a free port, allowing loopback peers; shared by a test class.</summary>
public sealed class LoopbackCoturn : IAsyncLifetime
{
    private Coturn? _coturn;

    public IPEndPoint EndPoint => new(IPAddress.Loopback, _coturn!.Port);
    public Coturn Server => _coturn!;

    public async Task InitializeAsync()
    {
        if (!Shell.Exists("turnserver")) return; // the tests skip
        _coturn = await Coturn.StartAsync("127.0.0.1", FreeUdpPort(), null, "--allow-loopback-peers");
    }

    public Task DisposeAsync()
    {
        _coturn?.Dispose();
        return Task.CompletedTask;
    }

    public static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
