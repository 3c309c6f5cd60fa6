using System.Buffers;
using System.IO.Pipelines;

namespace VirtualCluster.Routing.Tunnel;

/// <summary>
/// One stream of a tunnel, as a <see cref="Stream"/>. Reads hand out what the peer sent, and grant it more credit
/// as the reader consumes (so received data is bounded by the window); writes wait for credit from the peer (so a
/// slow reader at the far end slows the writer here instead of filling memory). Disposing a stream that is not
/// closed both ways resets it.
/// </summary>
public sealed class TunnelStream : Stream
{
    private readonly TunnelMux _mux;
    private readonly Pipe _received = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private TaskCompletionSource? _creditWaiter;
    private long _sendCredit;
    private long _receiveRemaining;
    private int _consumedUnacknowledged;
    private bool _localClosed;
    private bool _remoteClosed;
    private string? _resetReason;
    private int _disposed;

    internal TunnelStream(TunnelMux mux, uint id, bool opener)
    {
        _mux = mux;
        Id = id;
        Opener = opener;
        _receiveRemaining = mux.Options.StreamWindow;
    }

    /// <summary>Stream id on the tunnel.</summary>
    public uint Id { get; }

    internal bool Opener { get; }

    internal Task Opened => _opened.Task;

    /// <summary>Why the stream was reset, if it was.</summary>
    public string? ResetReason { get { lock (_gate) return _resetReason; } }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0) return 0;
        ReadResult result;
        try
        {
            result = await _received.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            throw new IOException(ResetReason ?? "the stream is closed");
        }
        var data = result.Buffer;
        var n = (int)Math.Min(data.Length, buffer.Length);
        data.Slice(0, n).CopyTo(buffer.Span);
        _received.Reader.AdvanceTo(data.GetPosition(n));
        if (n == 0 && result.IsCompleted) return 0;
        Consumed(n);
        return n;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (buffer.Length > 0)
        {
            var n = await TakeCreditAsync(Math.Min(buffer.Length, _mux.Options.MaxDataFrame), cancellationToken).ConfigureAwait(false);
            var payload = ArrayPool<byte>.Shared.Rent(n);
            buffer.Span[..n].CopyTo(payload);
            _mux.Enqueue(new OutFrame(TunnelFrameType.Data, Id, payload, n, Pooled: true), control: false);
            buffer = buffer[n..];
        }
    }

    /// <summary>Half-closes: the peer reads the end of the stream after what was written; reading here goes on.</summary>
    public void CompleteWrites()
    {
        lock (_gate)
        {
            if (_localClosed || _resetReason is not null) return;
            _localClosed = true;
        }
        _mux.SendEmpty(TunnelFrameType.Close, Id);
        ForgetIfDone();
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            bool done;
            lock (_gate) done = (_localClosed && _remoteClosed) || _resetReason is not null;
            if (!done) Abort("closed by this side", sendReset: true);
            _received.Reader.Complete();
            _mux.Forget(Id);
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    internal void MarkOpened() => _opened.TrySetResult();

    internal void OnOpenAck(uint window)
    {
        if (!Opener || _opened.Task.IsCompleted || window is 0 or > int.MaxValue)
        {
            Abort("unexpected open acknowledgement", sendReset: true);
            return;
        }
        OnWindow(window);
        _opened.TrySetResult();
    }

    /// <summary>Called by the read loop only; never blocks (credit bounds what is buffered).</summary>
    internal void OnData(ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            if (_resetReason is not null) return;
            if (_remoteClosed) { AbortLocked("data after close"); return; }
            if (payload.Length > _receiveRemaining) { AbortLocked($"the peer sent {payload.Length} bytes with {_receiveRemaining} of credit"); return; }
            _receiveRemaining -= payload.Length;
            _received.Writer.Write(payload);
            // No pause threshold, so the flush completes at once: the read loop never waits here, and the writer is
            // only touched under the lock (Abort may complete it from another thread).
            _ = _received.Writer.FlushAsync();
        }
    }

    internal void OnWindow(uint increment)
    {
        lock (_gate)
        {
            if (_resetReason is not null) return;
            if (increment == 0 || _sendCredit + increment > int.MaxValue)
            {
                AbortLocked($"window update of {increment} overflows the credit of {_sendCredit}");
                return;
            }
            _sendCredit += increment;
            _creditWaiter?.TrySetResult();
            _creditWaiter = null;
        }
    }

    internal void OnRemoteClose()
    {
        lock (_gate)
        {
            if (_remoteClosed || _resetReason is not null) return;
            _remoteClosed = true;
            _received.Writer.Complete();
        }
        ForgetIfDone();
    }

    /// <summary>Resets the stream: readers and writers fail with <paramref name="reason"/>; the peer is told when <paramref name="sendReset"/>.</summary>
    internal void Abort(string reason, bool sendReset)
    {
        lock (_gate)
        {
            if (_resetReason is not null) return;
            _resetReason = reason;
            _received.Writer.Complete(new IOException(reason));
            _creditWaiter?.TrySetException(new IOException(reason));
            _creditWaiter = null;
        }
        _opened.TrySetException(new TunnelRefusedException(reason));
        _ = _opened.Task.Exception; // observed: a refused open is reported through OpenAsync
        if (sendReset && !_mux.IsClosed) _mux.SendReset(Id, reason);
        _mux.Forget(Id);
    }

    private void AbortLocked(string reason)
    {
        // Called under _gate by the read loop: the reset frame is queued, never awaited.
        _resetReason = reason;
        _received.Writer.Complete(new IOException(reason));
        _creditWaiter?.TrySetException(new IOException(reason));
        _creditWaiter = null;
        _opened.TrySetException(new TunnelRefusedException(reason));
        _ = _opened.Task.Exception;
        if (!_mux.IsClosed) _mux.SendReset(Id, reason);
        _mux.Forget(Id);
    }

    private void Consumed(int n)
    {
        var total = Interlocked.Add(ref _consumedUnacknowledged, n);
        // Credit goes back in batches of half a window: fewer frames, and the sender never stalls on a full window.
        if (total < _mux.Options.StreamWindow / 2) return;
        Interlocked.Add(ref _consumedUnacknowledged, -total);
        lock (_gate)
        {
            if (_resetReason is not null || _remoteClosed) return;
            _receiveRemaining += total;
        }
        _mux.SendControl(TunnelFrameType.Window, Id, (uint)total);
    }

    private async ValueTask<int> TakeCreditAsync(int wanted, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_resetReason is not null) throw new IOException(_resetReason);
                if (_localClosed) throw new IOException("the stream was closed for writing");
                if (_sendCredit > 0)
                {
                    var n = (int)Math.Min(wanted, _sendCredit);
                    _sendCredit -= n;
                    return n;
                }
                _creditWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _creditWaiter.Task;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void ForgetIfDone()
    {
        bool done;
        lock (_gate) done = _localClosed && _remoteClosed;
        if (done) _mux.Forget(Id);
    }
}
