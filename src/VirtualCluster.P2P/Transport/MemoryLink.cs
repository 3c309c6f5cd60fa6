using System.Buffers;

namespace VirtualCluster.P2P.Transport;

/// <summary>
/// Two connected in-memory <see cref="IPacketTransport"/> ends (<see cref="A"/>, <see cref="B"/>) for tests and
/// benchmarks: loss, duplication, reordering and latency are applied per packet from a seeded random generator, so a
/// run's choices are repeatable. Each direction delivers on its own thread, in the order packets leave its queue;
/// the queue holds at most <see cref="QueueLimit"/> packets (more are dropped, like a router's queue).
/// </summary>
public sealed class MemoryLink : IDisposable
{
    /// <summary>Creates the pair. <paramref name="maxPacketSize"/> is what both ends report (1200 is typical after DTLS).</summary>
    public MemoryLink(int maxPacketSize = 1200, int seed = 1)
    {
        A = new MemoryLinkEnd(this, maxPacketSize, seed, "A");
        B = new MemoryLinkEnd(this, maxPacketSize, seed + 1, "B");
        A.Peer = B;
        B.Peer = A;
    }

    /// <summary>One end.</summary>
    public MemoryLinkEnd A { get; }

    /// <summary>The other end.</summary>
    public MemoryLinkEnd B { get; }

    /// <summary>Probability (0-1) that a packet is lost. Default 0.</summary>
    public double LossRate { get; set; }

    /// <summary>Probability (0-1) that a packet is delivered twice. Default 0.</summary>
    public double DuplicateRate { get; set; }

    /// <summary>Probability (0-1) that a packet is held back and delivered after the next one. Default 0.</summary>
    public double ReorderRate { get; set; }

    /// <summary>One-way delay added to every packet. Default 0.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>True: every packet is dropped (a peer that went silent or a cut link). Default false.</summary>
    public bool Blocked { get; set; }

    /// <summary>Packets queued per direction before more are dropped. Default 8192.</summary>
    public int QueueLimit { get; set; } = 8192;

    /// <summary>Called for each packet sent (end, packet) before loss is applied; return false to drop it.</summary>
    public Func<MemoryLinkEnd, ReadOnlyMemory<byte>, bool>? Filter { get; set; }

    /// <summary>Closes both ends.</summary>
    public void Dispose()
    {
        A.Close(null);
        B.Close(null);
    }
}

/// <summary>One end of a <see cref="MemoryLink"/>.</summary>
public sealed class MemoryLinkEnd : IPacketTransport
{
    private readonly MemoryLink _link;
    private readonly Random _random;
    private readonly Queue<(byte[] Data, int Length, long Due)> _queue = new();
    private readonly Thread _thread;
    private (byte[] Data, int Length)? _heldBack;
    private bool _closed;
    private int _closedRaised;

    internal MemoryLinkEnd(MemoryLink link, int maxPacketSize, int seed, string name)
    {
        _link = link;
        MaxPacketSize = maxPacketSize;
        _random = new Random(seed);
        Name = name;
        _thread = new Thread(DeliverLoop) { IsBackground = true, Name = $"MemoryLink {name}" };
        _thread.Start();
    }

    internal MemoryLinkEnd Peer { get; set; } = null!;

    /// <summary>"A" or "B".</summary>
    public string Name { get; }

    private long _sent, _dropped;

    /// <summary>Packets sent from this end (before loss).</summary>
    public long PacketsSent => Interlocked.Read(ref _sent);

    /// <summary>Packets from this end dropped on purpose (loss, blocked, filter, full queue).</summary>
    public long PacketsDropped => Interlocked.Read(ref _dropped);

    public int MaxPacketSize { get; }

    /// <summary>Largest packet sent at all (PMTU probes); <see cref="MaxPacketSize"/> unless set larger.</summary>
    public int MaxProbePacketSize { get => Math.Max(_maxProbe, MaxPacketSize); set => _maxProbe = value; }
    private int _maxProbe;

    public bool IsOpen => !Volatile.Read(ref _closed);
    public PacketHandler? Received { get; set; }
    public event Action<string?>? Closed;

    /// <summary>Queues the packet for the peer (unless the link drops it).</summary>
    public void Send(ReadOnlySpan<byte> packet)
    {
        ObjectDisposedException.ThrowIf(!IsOpen, this);
        if (packet.Length > MaxProbePacketSize) throw new ArgumentException($"packet of {packet.Length} bytes exceeds MaxProbePacketSize {MaxProbePacketSize}");
        Interlocked.Increment(ref _sent);
        var copy = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(copy);
        if (_link.Filter is { } f && !f(this, copy.AsMemory(0, packet.Length))) { Discard(copy); return; }
        lock (_queue)
        {
            if (_link.Blocked || _random.NextDouble() < _link.LossRate || _queue.Count >= _link.QueueLimit) { Discard(copy); return; }
            var due = _link.Latency > TimeSpan.Zero ? Environment.TickCount64 + (long)_link.Latency.TotalMilliseconds : 0;
            if (_random.NextDouble() < _link.DuplicateRate)
            {
                var dup = ArrayPool<byte>.Shared.Rent(packet.Length);
                packet.CopyTo(dup);
                _queue.Enqueue((dup, packet.Length, due));
            }
            if (_heldBack is null && _random.NextDouble() < _link.ReorderRate) _heldBack = (copy, packet.Length);
            else
            {
                _queue.Enqueue((copy, packet.Length, due));
                if (_heldBack is { } h) { _queue.Enqueue((h.Data, h.Length, due)); _heldBack = null; }
            }
            Monitor.Pulse(_queue);
        }
    }

    private void Discard(byte[] copy)
    {
        Interlocked.Increment(ref _dropped);
        ArrayPool<byte>.Shared.Return(copy);
    }

    private void DeliverLoop()
    {
        while (true)
        {
            (byte[] Data, int Length, long Due) item;
            lock (_queue)
            {
                while (_queue.Count == 0 && !_closed) Monitor.Wait(_queue, 50);
                if (_closed) return;
                item = _queue.Dequeue();
            }
            var wait = item.Due - Environment.TickCount64;
            if (item.Due != 0 && wait > 0) Thread.Sleep((int)wait);
            try
            {
                if (Peer.IsOpen) Peer.Received?.Invoke(item.Data.AsSpan(0, item.Length));
            }
            catch (Exception)
            {
                // A receiver that throws is a bug in the receiver; the link keeps running like a network would.
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(item.Data);
            }
        }
    }

    internal void Close(string? reason)
    {
        lock (_queue)
        {
            _closed = true;
            Monitor.PulseAll(_queue);
        }
        if (Interlocked.Exchange(ref _closedRaised, 1) == 0) Closed?.Invoke(reason);
    }

    /// <summary>Closes this end (its Closed event fires); the peer stays open and simply stops hearing from it.</summary>
    public ValueTask DisposeAsync()
    {
        Close(null);
        return ValueTask.CompletedTask;
    }
}
