using System.Net;
using System.Net.Sockets;

namespace VirtualCluster.P2P.Transport;

/// <summary>A real UDP socket with a receive loop (one task per socket).</summary>
public sealed class UdpDatagramSocket : IDatagramSocket
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _sendErrors;
    private long _handlerErrors;

    /// <summary>Binds to <paramref name="localEndPoint"/> (port 0 picks a free port).</summary>
    public UdpDatagramSocket(IPEndPoint localEndPoint)
    {
        _socket = new Socket(localEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (localEndPoint.AddressFamily == AddressFamily.InterNetworkV6) _socket.DualMode = false;
            _socket.Bind(localEndPoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <inheritdoc />
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Datagrams that the operating system refused to send (e.g. no route).</summary>
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>Exceptions thrown by the receive handler (bugs above this layer), counted and swallowed.</summary>
    public long HandlerErrors => Interlocked.Read(ref _handlerErrors);

    /// <inheritdoc />
    public void Send(ReadOnlySpan<byte> datagram, IPEndPoint destination)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, destination);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _sendErrors);
        }
    }

    /// <inheritdoc />
    public void Start(DatagramHandler handler)
    {
        if (_loop is not null) throw new InvalidOperationException("already started");
        _loop = Task.Run(() => ReceiveLoopAsync(handler));
    }

    private async Task ReceiveLoopAsync(DatagramHandler handler)
    {
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(LocalEndPoint.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize or SocketError.NetworkUnreachable or SocketError.HostUnreachable)
            {
                continue; // ICMP errors of earlier sends surface here; UDP goes on
            }
            catch (SocketException)
            {
                if (_stop.IsCancellationRequested) return;
                continue;
            }
            try
            {
                handler(buffer.AsSpan(0, result.ReceivedBytes), (IPEndPoint)result.RemoteEndPoint);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A bug in a layer above must not stop the socket; the layer logs its own failures.
                Interlocked.Increment(ref _handlerErrors);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }
}
