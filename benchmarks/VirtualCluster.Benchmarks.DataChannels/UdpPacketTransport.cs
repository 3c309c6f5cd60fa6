using System.Net;
using System.Net.Sockets;
using VirtualCluster.P2P.Transport;

namespace VirtualCluster.Benchmarks.DataChannels;

/// <summary>A connected loopback UDP socket as an <see cref="IPacketTransport"/> (plain UDP, no DTLS): the benchmark's real network path.</summary>
internal sealed class UdpPacketTransport : IPacketTransport
{
    private readonly Socket _socket;
    private readonly Thread _receiver;
    private volatile bool _open = true;

    private UdpPacketTransport(int maxPacketSize)
    {
        MaxPacketSize = maxPacketSize;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.ReceiveBufferSize = 8 * 1024 * 1024;
        _socket.SendBufferSize = 8 * 1024 * 1024;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _receiver = new Thread(ReceiveLoop) { IsBackground = true, Name = "udp-receive" };
    }

    public static (UdpPacketTransport A, UdpPacketTransport B) CreatePair(int maxPacketSize)
    {
        var a = new UdpPacketTransport(maxPacketSize);
        var b = new UdpPacketTransport(maxPacketSize);
        a._socket.Connect(b._socket.LocalEndPoint!);
        b._socket.Connect(a._socket.LocalEndPoint!);
        a._receiver.Start();
        b._receiver.Start();
        return (a, b);
    }

    public int MaxPacketSize { get; }
    public bool IsOpen => _open;
    public PacketHandler? Received { get; set; }
    public event Action<string?>? Closed;

    public void Send(ReadOnlySpan<byte> packet)
    {
        if (!_open) throw new ObjectDisposedException(nameof(UdpPacketTransport));
        try { _socket.Send(packet); }
        catch (SocketException) { } // loss, as the contract allows (e.g. ECONNREFUSED after the peer closed)
    }

    private void ReceiveLoop()
    {
        var buffer = new byte[65536];
        while (_open)
        {
            int n;
            try { n = _socket.Receive(buffer); }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            Received?.Invoke(buffer.AsSpan(0, n));
        }
    }

    public ValueTask DisposeAsync()
    {
        _open = false;
        _socket.Dispose();
        Closed?.Invoke(null);
        return ValueTask.CompletedTask;
    }
}
