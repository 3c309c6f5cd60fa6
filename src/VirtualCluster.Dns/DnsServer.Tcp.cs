using System.Net;
using System.Net.Sockets;

namespace VirtualCluster.Dns;

// DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message behind a two-byte length; the same answers as over UDP,
// with the same per-source rate limit, and bounds on connections, idle time and queries per connection so slow or
// many clients cannot hold the server.
public sealed partial class DnsServer
{
    private Socket? _tcp;
    private int _tcpConnections;

    /// <summary>Connections open now (tests and metrics).</summary>
    internal int TcpConnections => Volatile.Read(ref _tcpConnections);

    private void BindTcp(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = endpoint.Address.Equals(IPAddress.IPv6Any);
            socket.Bind(endpoint);
            socket.Listen(128);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            _socket?.Dispose();
            _socket = null;
            throw new InvalidOperationException($"DNS: cannot listen on tcp {endpoint}: {e.Message} (set Tcp to false to answer over UDP only)", e);
        }
        _tcp = socket;
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken ct)
    {
        var connections = new List<Task>();
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(ct);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted) { break; }
            catch (SocketException)
            {
                continue; // a client that reset before we took it
            }
            if (Interlocked.Increment(ref _tcpConnections) > _options.MaxTcpConnections)
            {
                Interlocked.Decrement(ref _tcpConnections);
                _metrics.Dropped("tcp_connections");
                client.Dispose();
                continue;
            }
            connections.RemoveAll(t => t.IsCompleted);
            connections.Add(ServeAsync(client, ct));
        }
        await Task.WhenAll(connections);
    }

    /// <summary>Answers queries on one connection until it closes, idles, sends garbage or reaches the query bound. Never throws.</summary>
    private async Task ServeAsync(Socket client, CancellationToken ct)
    {
        try
        {
            using (client)
            {
                if (client.RemoteEndPoint is not IPEndPoint source) return;
                var prefix = new byte[2];
                var query = new byte[4096];
                var response = new byte[2 + Math.Max(512, _options.MaxUdpPayload)];
                for (var n = 0; n < _options.MaxQueriesPerTcpConnection; n++)
                {
                    // The whole query must arrive within the idle time: a client sending a byte at a time gains nothing.
                    using var idle = new CancellationTokenSource(_options.TcpIdleTimeout, _time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, idle.Token);
                    if (!await ReadAsync(client, prefix, linked.Token)) return;
                    var size = prefix[0] << 8 | prefix[1];
                    if (size is < 12 or > 4096)
                    {
                        _metrics.Dropped("malformed");
                        LogDropped(source, $"a TCP message of {size} bytes (a query is 12 to 4096)");
                        return;
                    }
                    if (!await ReadAsync(client, query.AsMemory(0, size), linked.Token)) return;
                    var length = Answer(query.AsSpan(0, size), source, response.AsSpan(2));
                    if (length == 0) return; // RFC 7766 §6.2.4: a server may close a connection it will not answer on
                    response[0] = (byte)(length >> 8);
                    response[1] = (byte)length;
                    await client.SendAsync(response.AsMemory(0, length + 2), SocketFlags.None, linked.Token);
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        finally
        {
            Interlocked.Decrement(ref _tcpConnections);
        }
    }

    /// <summary>Fills <paramref name="buffer"/>; false when the client closed first.</summary>
    private static async Task<bool> ReadAsync(Socket client, Memory<byte> buffer, CancellationToken ct)
    {
        for (var read = 0; read < buffer.Length;)
        {
            var n = await client.ReceiveAsync(buffer[read..], SocketFlags.None, ct);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }
}
