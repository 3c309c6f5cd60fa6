using System.Buffers;
using System.Collections.Concurrent;
using Org.BouncyCastle.Tls;

namespace VirtualCluster.P2P.Dtls;

/// <summary>
/// BouncyCastle's view of the ICE path: records the ICE agent delivers are queued (pooled copies, bounded: a full
/// queue drops like a full socket buffer) and handed to the DTLS record layer's blocking Receive with its timeout;
/// sends go straight to the agent. Closing wakes a waiting Receive, which then throws so the record layer stops.
/// </summary>
internal sealed class DatagramQueue : DatagramTransport
{
    private readonly BlockingCollection<(byte[] Buffer, int Length)> _queue;
    private readonly Action<ReadOnlySpan<byte>> _send;
    private readonly int _sendLimit;
    private readonly CancellationTokenSource _closed = new();
    private long _dropped;

    public DatagramQueue(Action<ReadOnlySpan<byte>> send, int mtu, int capacity)
    {
        _send = send;
        _sendLimit = mtu;
        _queue = new BlockingCollection<(byte[], int)>(capacity);
    }

    /// <summary>The largest datagram accepted from the peer; longer ones are dropped (no DTLS stack sends them on a 1500-byte path).</summary>
    public const int ReceiveLimit = 2048;

    public bool IsClosed => _closed.IsCancellationRequested;

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Raised once when BouncyCastle (close_notify, fatal alert) or we close the transport.</summary>
    public event Action? ClosedByStack;

    /// <summary>Queues one datagram from the peer. Runts that cannot hold a record header (13 bytes) are dropped here.</summary>
    public void Enqueue(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < 13 || datagram.Length > ReceiveLimit || IsClosed)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.CopyTo(buffer);
        if (!_queue.TryAdd((buffer, datagram.Length)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Increment(ref _dropped);
        }
    }

    public int GetReceiveLimit() => ReceiveLimit;

    public int GetSendLimit() => _sendLimit;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        (byte[] Buffer, int Length) item;
        try
        {
            // BouncyCastle: a wait of 0 means no limit
            if (!_queue.TryTake(out item, waitMillis == 0 ? Timeout.Infinite : waitMillis, _closed.Token)) return -1;
        }
        catch (OperationCanceledException)
        {
            throw new IOException("the DTLS transport is closed");
        }
        var length = Math.Min(item.Length, buffer.Length);
        item.Buffer.AsSpan(0, length).CopyTo(buffer);
        ArrayPool<byte>.Shared.Return(item.Buffer);
        return length;
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (IsClosed) return; // the close_notify after a local close may race the path going away
        _send(buffer);
    }

    public void Close()
    {
        if (IsClosed) return;
        _closed.Cancel();
        while (_queue.TryTake(out var item)) ArrayPool<byte>.Shared.Return(item.Buffer);
        ClosedByStack?.Invoke();
    }
}
