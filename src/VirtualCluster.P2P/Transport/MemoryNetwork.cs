using System.Collections.Concurrent;
using System.Net;

namespace VirtualCluster.P2P.Transport;

/// <summary>
/// An in-memory datagram network for tests. Datagrams are queued; with <see cref="AutoDeliver"/> they are delivered
/// on the thread pool, otherwise when the test calls <see cref="DeliverPending"/> (deterministic with a fake clock).
/// A <see cref="Filter"/> can drop datagrams to simulate loss or a cut link.
/// </summary>
public sealed class MemoryNetwork
{
    private readonly ConcurrentDictionary<IPEndPoint, MemorySocket> _sockets = new();
    private readonly ConcurrentQueue<(byte[] Data, IPEndPoint From, IPEndPoint To, DateTimeOffset Due)> _queue = new();
    private int _nextPort = 40000;

    /// <summary>True (default): deliver on the thread pool. False: deliver only in <see cref="DeliverPending"/>.</summary>
    public bool AutoDeliver { get; init; } = true;

    /// <summary>Returns false to drop a datagram. Null delivers everything.</summary>
    public Func<IPEndPoint, IPEndPoint, bool>? Filter { get; set; }

    /// <summary>
    /// With <see cref="AutoDeliver"/> false: how long a datagram from the first end point to the second takes, on
    /// <see cref="Clock"/>; <see cref="DeliverPending"/> holds it until then. Null (default): delivered at the next call.
    /// Tests use it to make one path slower than another.
    /// </summary>
    public Func<IPEndPoint, IPEndPoint, TimeSpan>? Latency { get; set; }

    /// <summary>The clock <see cref="Latency"/> is measured on (a fake clock in tests). Default the system clock.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Every datagram sent, for assertions.</summary>
    public ConcurrentQueue<(byte[] Data, IPEndPoint From, IPEndPoint To)> Sent { get; } = new();

    /// <summary>Creates a socket; port 0 picks the next free port.</summary>
    public IDatagramSocket CreateSocket(IPAddress address, int port = 0)
    {
        var endPoint = new IPEndPoint(address, port == 0 ? Interlocked.Increment(ref _nextPort) : port);
        var socket = new MemorySocket(this, endPoint);
        if (!_sockets.TryAdd(endPoint, socket)) throw new InvalidOperationException($"{endPoint} is in use");
        return socket;
    }

    /// <summary>
    /// Delivers queued datagrams (including ones queued while delivering) until none is left, except those whose
    /// <see cref="Latency"/> has not passed yet. Returns how many were delivered.
    /// </summary>
    public int DeliverPending()
    {
        var count = 0;
        var held = new List<(byte[], IPEndPoint, IPEndPoint, DateTimeOffset)>();
        while (_queue.TryDequeue(out var item))
        {
            if (item.Due > Clock.GetUtcNow())
            {
                held.Add(item);
                continue;
            }
            Deliver(item.Data, item.From, item.To);
            count++;
        }
        foreach (var item in held) _queue.Enqueue(item);
        return count;
    }

    private void Enqueue(byte[] data, IPEndPoint from, IPEndPoint to)
    {
        Sent.Enqueue((data, from, to));
        if (Filter is { } filter && !filter(from, to)) return;
        if (AutoDeliver) ThreadPool.QueueUserWorkItem(_ => Deliver(data, from, to));
        else _queue.Enqueue((data, from, to, Latency is { } latency ? Clock.GetUtcNow() + latency(from, to) : DateTimeOffset.MinValue));
    }

    private void Deliver(byte[] data, IPEndPoint from, IPEndPoint to)
    {
        if (_sockets.TryGetValue(to, out var socket)) socket.Receive(data, from);
    }

    private sealed class MemorySocket(MemoryNetwork network, IPEndPoint localEndPoint) : IDatagramSocket
    {
        private readonly object _gate = new();
        private DatagramHandler? _handler;
        private bool _disposed;

        public IPEndPoint LocalEndPoint { get; } = localEndPoint;

        public void Send(ReadOnlySpan<byte> datagram, IPEndPoint destination)
        {
            if (!_disposed) network.Enqueue(datagram.ToArray(), LocalEndPoint, destination);
        }

        public void Start(DatagramHandler handler) => _handler = handler;

        public void Receive(byte[] data, IPEndPoint from)
        {
            lock (_gate) // one datagram at a time, as the real socket's loop does
            {
                if (!_disposed) _handler?.Invoke(data, from);
            }
        }

        public void Dispose()
        {
            _disposed = true;
            network._sockets.TryRemove(LocalEndPoint, out _);
        }
    }
}
