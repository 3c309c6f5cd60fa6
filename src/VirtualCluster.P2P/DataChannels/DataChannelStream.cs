using System.Buffers;
using System.Threading.Channels;

namespace VirtualCluster.P2P.DataChannels;

/// <summary>
/// A byte stream over a reliable, ordered data channel. Writes are split into messages of at most
/// <see cref="MessageSize"/> bytes and wait while the channel's <see cref="DataChannel.BufferedAmount"/> is above
/// <see cref="HighWaterMark"/> (backpressure). Reads return received bytes in order; bytes read-ahead but not yet
/// consumed count against the SCTP receive window, so a slow reader slows the sender instead of growing memory.
/// Reads return 0 once the channel has closed and everything was read. Disposing closes the channel.
/// </summary>
public sealed class DataChannelStream : Stream
{
    private readonly DataChannel _channel;
    private readonly Channel<(byte[] Data, int Length)> _received;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private (byte[] Data, int Length, int Offset) _current;
    private TaskCompletionSource? _drained;
    private readonly object _drainGate = new();
    private bool _disposed;

    /// <summary>Wraps <paramref name="channel"/>, which must be reliable and ordered.</summary>
    /// <param name="highWaterMark">Writes wait while more than this many bytes are queued. Default 1 MiB.</param>
    /// <param name="messageSize">Largest message written. Default 64 KiB (capped at the peer's max-message-size).</param>
    /// <param name="inlineReads">
    /// When true, a read waiting for data continues on the thread that delivered the message (the transport's receive
    /// thread) instead of being queued to the thread pool: one thread wake-up less per message, which is most of what
    /// a proxy pays per small response. Only for readers whose continuation never blocks (no synchronous waits on
    /// this stream or its channel), since the receive thread runs it before it reads the next datagram. Default false.
    /// </param>
    public DataChannelStream(DataChannel channel, long highWaterMark = 1024 * 1024, int messageSize = 64 * 1024, bool inlineReads = false)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (!channel.Ordered || channel.MaxRetransmits is not null || channel.MaxPacketLifeTime is not null)
            throw new ArgumentException("DataChannelStream needs a reliable, ordered channel (no MaxRetransmits or MaxPacketLifeTime, Ordered = true).", nameof(channel));
        ArgumentOutOfRangeException.ThrowIfLessThan(highWaterMark, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(messageSize, 1);
        _channel = channel;
        _received = System.Threading.Channels.Channel.CreateUnbounded<(byte[], int)>(new UnboundedChannelOptions
        {
            SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = inlineReads,
        });
        HighWaterMark = highWaterMark;
        var max = channel.Association.RemoteMaxMessageSize;
        MessageSize = max > 0 ? Math.Min(messageSize, max) : messageSize;
        channel.BufferedAmountLowThreshold = highWaterMark / 2;
        channel.BufferedAmountLow += OnLow;
        channel.MessageOwner = OnMessage;
        channel.Closed += (_, _) => { _received.Writer.TryComplete(); OnLow(channel); };
        if (channel.State == DataChannelState.Closed) _received.Writer.TryComplete();
    }

    /// <summary>Writes wait while the channel has more than this many bytes queued.</summary>
    public long HighWaterMark { get; }

    /// <summary>Largest message a write is split into.</summary>
    public int MessageSize { get; }

    /// <summary>The channel underneath.</summary>
    public DataChannel Channel => _channel;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Takes the association's pooled buffer of a message (no copy); false if the stream is done with reading.</summary>
    private bool OnMessage(DataChannel channel, byte[] message, int length)
    {
        channel.Association.HoldApplicationBytes(length);
        if (_received.Writer.TryWrite((message, length))) return true;
        channel.Association.ReleaseApplicationBytes(length);
        return false;
    }

    private void OnLow(DataChannel channel)
    {
        lock (_drainGate) { _drained?.TrySetResult(); _drained = null; }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty) return 0;
        if (_current.Data is null)
        {
            if (!await _received.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false)) return 0;
            if (!_received.Reader.TryRead(out var next)) return 0;
            _current = (next.Data, next.Length, 0);
        }
        // Fill the caller's buffer from every message already here, not just one: a proxy copying a 100 KiB response
        // then does one read and one write per buffer instead of one per message.
        var total = 0;
        while (true)
        {
            var n = Math.Min(buffer.Length - total, _current.Length - _current.Offset);
            _current.Data.AsMemory(_current.Offset, n).CopyTo(buffer[total..]);
            _current.Offset += n;
            total += n;
            if (_current.Offset < _current.Length) return total;
            ArrayPool<byte>.Shared.Return(_current.Data);
            _channel.Association.ReleaseApplicationBytes(_current.Length);
            _current = default;
            if (total == buffer.Length || !_received.Reader.TryRead(out var more)) return total;
            _current = (more.Data, more.Length, 0);
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (!buffer.IsEmpty)
            {
                while (_channel.BufferedAmount > HighWaterMark)
                {
                    Task wait;
                    lock (_drainGate)
                    {
                        if (_channel.BufferedAmount <= HighWaterMark) break;
                        _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        wait = _drained.Task;
                    }
                    if (_channel.State != DataChannelState.Open) throw new IOException($"The data channel is {_channel.State}{(_channel.CloseReason is { } r ? ": " + r : "")}.");
                    await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                if (_channel.State != DataChannelState.Open) throw new IOException($"The data channel is {_channel.State}{(_channel.CloseReason is { } r2 ? ": " + r2 : "")}.");
                var n = Math.Min(buffer.Length, MessageSize);
                _channel.Send(buffer.Span[..n]);
                buffer = buffer[n..];
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _channel.MessageOwner = null;
            _received.Writer.TryComplete(); // a message raised meanwhile is refused (and its buffer returned), not stranded
            _channel.BufferedAmountLow -= OnLow;
            _channel.Close();
            while (_received.Reader.TryRead(out var item))
            {
                ArrayPool<byte>.Shared.Return(item.Data);
                _channel.Association.ReleaseApplicationBytes(item.Length);
            }
            if (_current.Data is not null)
            {
                ArrayPool<byte>.Shared.Return(_current.Data);
                _channel.Association.ReleaseApplicationBytes(_current.Length);
                _current = default;
            }
        }
        base.Dispose(disposing);
    }
}
