using System.Net;
using System.Net.Sockets;

namespace VirtualCluster.P2P.Transport;

/// <summary>A real UDP socket with a receive loop (one task per socket).</summary>
public sealed class UdpDatagramSocket : IDatagramSocket
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;
    private long _sendErrors;
    private SerializedDestination? _lastDestination;
    private readonly bool _receiveOffload;
    private long _offloadedReceives;

    /// <summary>Receives that brought several datagrams at once (UDP receive offload).</summary>
    public long OffloadedReceives => Interlocked.Read(ref _offloadedReceives);

    private sealed record SerializedDestination(IPEndPoint EndPoint, SocketAddress Address);
    private long _handlerErrors;

    /// <summary>Binds to <paramref name="localEndPoint"/> (port 0 picks a free port).</summary>
    public UdpDatagramSocket(IPEndPoint localEndPoint)
    {
        _socket = new Socket(localEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (localEndPoint.AddressFamily == AddressFamily.InterNetworkV6) _socket.DualMode = false;
            // A data channel keeps up to its SCTP receive window (1 MiB) in flight; the default buffer (208 KiB of
            // kernel memory, about 90 datagrams) overflowed whenever the receive loop was descheduled for a few
            // milliseconds, and each overflow halved the sender's congestion window (measured: 6 % of packets
            // retransmitted on loopback under load). The kernel caps this at net.core.rmem_max.
            _socket.ReceiveBufferSize = ReceiveBufferBytes;
            // Never fragment: a datagram larger than the path is lost (or refused at once by the kernel), so a
            // PMTU probe (RFC 8899) learns the truth instead of succeeding as IP fragments that a lossy path loses
            // many times more often. Every datagram sent before probing is at most 1200 bytes anyway.
            try { _socket.DontFragment = true; }
            catch (Exception e) when (e is SocketException or NotSupportedException) { /* not supported on this platform or family: probes may then pass fragmented */ }
            _socket.Bind(localEndPoint);
            _receiveOffload = UdpSegmentation.TryEnableReceiveOffload(_socket);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>The receive buffer asked of the kernel (it grants at most net.core.rmem_max).</summary>
    public const int ReceiveBufferBytes = 4 << 20;

    /// <inheritdoc />
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Datagrams that the operating system refused to send (e.g. no route).</summary>
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>Exceptions thrown by the receive handler (bugs above this layer), counted and swallowed.</summary>
    public long HandlerErrors => Interlocked.Read(ref _handlerErrors);

    /// <inheritdoc />
    public void Send(ReadOnlySpan<byte> datagram, IPEndPoint destination)
    {
        // A link sends almost everything to one address: serialise it once, not per datagram (SendTo(EndPoint)
        // allocates a SocketAddress every call). A copy of the end point is kept (IPEndPoint is mutable), and the pair
        // is swapped as one object, so concurrent senders are safe.
        var cached = _lastDestination;
        if (cached is null || !cached.EndPoint.Equals(destination))
            _lastDestination = cached = new SerializedDestination(new IPEndPoint(destination.Address, destination.Port), destination.Serialize());
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, cached.Address);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _sendErrors);
        }
    }

    /// <summary>Datagrams sent in batches by UDP segmentation offload (each counts once).</summary>
    public long SegmentedDatagrams => Interlocked.Read(ref _segmentedDatagrams);
    private long _segmentedDatagrams;
    private volatile bool _segmentationFailed;

    /// <inheritdoc />
    public void SendSegments(ReadOnlySpan<byte> datagrams, int segmentSize, IPEndPoint destination)
    {
        var count = (datagrams.Length + segmentSize - 1) / segmentSize;
        if (count > 1 && count <= UdpSegmentation.MaxSegments && datagrams.Length <= UdpSegmentation.MaxBytes
            && UdpSegmentation.Supported && !_segmentationFailed)
        {
            if (UdpSegmentation.TrySend(_socket.SafeHandle, datagrams, segmentSize, destination))
            {
                Interlocked.Add(ref _segmentedDatagrams, count);
                return;
            }
            // The kernel or the route refused it (no offload on this path, or the datagrams do not fit its MTU): one
            // by one from now on, where each datagram gets its own error, as before.
            _segmentationFailed = true;
        }
        for (var offset = 0; offset < datagrams.Length; offset += segmentSize)
            Send(datagrams.Slice(offset, Math.Min(segmentSize, datagrams.Length - offset)), destination);
    }

    /// <inheritdoc />
    public void Start(DatagramHandler handler)
    {
        if (_thread is not null) throw new InvalidOperationException("already started");
        // A thread of its own blocked in recvfrom: a datagram is handled as soon as the kernel has it, with no epoll
        // round and no thread-pool dispatch per datagram (the async loop cost a wake-up each, and under load its
        // continuations queued behind other work while the socket buffer filled).
        _thread = new Thread(() => ReceiveLoop(handler)) { IsBackground = true, Name = $"udp-{LocalEndPoint.Port}" };
        _thread.Start();
    }

    private void ReceiveLoop(DatagramHandler handler)
    {
        if (_receiveOffload)
        {
            ReceiveLoopWithOffload(handler);
            return;
        }
        var buffer = new byte[65536];
        var address = new SocketAddress(LocalEndPoint.AddressFamily);
        IPEndPoint? lastEndPoint = null;
        SocketAddress? lastAddress = null;
        while (!_stop.IsCancellationRequested)
        {
            int received;
            try
            {
                received = _socket.ReceiveFrom(buffer, SocketFlags.None, address);
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
            // one peer sends almost everything: reuse its IPEndPoint instead of allocating one per datagram
            if (lastAddress is null || !address.Equals(lastAddress))
            {
                lastEndPoint = (IPEndPoint)LocalEndPoint.Create(address);
                lastAddress = new SocketAddress(address.Family, address.Size);
                address.Buffer.Span.CopyTo(lastAddress.Buffer.Span);
            }
            try
            {
                handler(buffer.AsSpan(0, received), lastEndPoint!);
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

    /// <summary>
    /// The receive loop with UDP receive offload on (Linux): one recvmsg may bring several datagrams of one size that
    /// the kernel kept together (a peer's segmentation-offload send, on loopback or a card that merges), each handed
    /// to <paramref name="handler"/> on its own, as they were sent.
    /// </summary>
    private void ReceiveLoopWithOffload(DatagramHandler handler)
    {
        var buffer = new byte[65536];
        Span<byte> name = stackalloc byte[128];
        Span<byte> lastName = stackalloc byte[128];
        var lastNameLength = 0;
        IPEndPoint? lastEndPoint = null;
        var handle = _socket.SafeHandle;
        while (!_stop.IsCancellationRequested)
        {
            var received = UdpSegmentation.Receive(handle, buffer, name, out var nameLength, out var segmentSize, out var error);
            if (_stop.IsCancellationRequested) return;
            if (received < 0)
            {
                if (error == UdpSegmentation.EBadF) return;
                continue; // EINTR, and ICMP errors of earlier sends (ECONNREFUSED and the like): UDP goes on
            }
            nameLength = Math.Min(nameLength, name.Length);
            if (lastEndPoint is null || !name[..nameLength].SequenceEqual(lastName[..lastNameLength]))
            {
                if (UdpSegmentation.ToEndPoint(name[..nameLength]) is not { } source) continue;
                lastEndPoint = source;
                name[..nameLength].CopyTo(lastName);
                lastNameLength = nameLength;
            }
            if (segmentSize <= 0 || segmentSize >= received) segmentSize = received;
            else Interlocked.Increment(ref _offloadedReceives);
            for (var offset = 0; offset < received || received == 0; offset += segmentSize)
            {
                try
                {
                    handler(buffer.AsSpan(offset, Math.Min(segmentSize, received - offset)), lastEndPoint);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Interlocked.Increment(ref _handlerErrors);
                }
                if (received == 0) break;
            }
        }
    }
}
