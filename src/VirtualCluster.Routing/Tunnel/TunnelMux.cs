using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.Routing.Tunnel;

/// <summary>
/// Many byte streams over one ordered, reliable transport (a WebSocket, or any duplex <see cref="Stream"/>), with
/// per-stream credit-based flow control. One read loop dispatches frames and never waits on a write; one write loop
/// sends frames in order. A frame that breaks the protocol's framing closes the tunnel (a byte stream cannot be
/// resynchronised); a frame that is wrong only for its stream (unknown id, too much data, window overflow) resets
/// that stream. Neither ever throws out of <see cref="RunAsync"/>.
/// </summary>
public sealed partial class TunnelMux : IAsyncDisposable
{
    private readonly Stream _transport;
    private readonly TunnelOptions _options;
    private readonly Func<int, CancellationToken, ValueTask<Stream>>? _connect;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<uint, TunnelStream> _streams = new();
    private readonly Channel<OutFrame> _out = Channel.CreateUnbounded<OutFrame>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _queuedControl;
    private uint _nextId;
    private long _lastReceived;
    private int _started;
    private static readonly TimeSpan LoopExitTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Creates a tunnel over <paramref name="transport"/>; call <see cref="RunAsync"/> to start it.</summary>
    /// <param name="transport">Ordered reliable duplex byte stream; owned (disposed with the tunnel).</param>
    /// <param name="isDialer">True on the side that dialed the transport: it numbers its streams even, the other odd.</param>
    /// <param name="options">Limits; validated by the caller.</param>
    /// <param name="connect">
    /// Called for each stream the peer opens, with the port asked for: returns the connected local stream, or throws
    /// <see cref="TunnelRefusedException"/> with a reason the peer sees. Null: this side accepts no streams.
    /// </param>
    public TunnelMux(Stream transport, bool isDialer, TunnelOptions options, Func<int, CancellationToken, ValueTask<Stream>>? connect,
        ILogger logger, TimeProvider? time = null)
    {
        _transport = transport;
        _options = options;
        _connect = connect;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _nextId = isDialer ? 2u : 1u;
        _lastReceived = _time.GetTimestamp();
    }

    /// <summary>Completes when the tunnel has closed, for whatever reason.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Streams open now.</summary>
    public int StreamCount => _streams.Count;

    /// <summary>Latest ping round trip, if a pong has come back.</summary>
    public TimeSpan? RoundTrip { get; private set; }

    internal TunnelOptions Options => _options;

    /// <summary>Runs the read, write and keepalive loops until the transport ends, the peer breaks the protocol or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) throw new InvalidOperationException("RunAsync was already called");
        using var link = cancellationToken.Register(() => Abort("the tunnel was stopped"));
        var writer = Task.Run(WriteLoopAsync, CancellationToken.None);
        var pinger = Task.Run(PingLoopAsync, CancellationToken.None);
        try
        {
            await ReadLoopAsync().ConfigureAwait(false);
        }
        finally
        {
            try
            {
                Abort("the tunnel closed");
                // A transport whose pending write ignores both cancellation and disposal must not keep the tunnel from
                // completing (and DisposeAsync from returning): the loops get a bounded time to notice the abort.
                try { await Task.WhenAll(writer, pinger).WaitAsync(LoopExitTimeout).ConfigureAwait(false); }
                catch (TimeoutException) { }
                catch (Exception e) { LogLoopFailed(_logger, e); }
                try { await _transport.DisposeAsync().ConfigureAwait(false); } catch (Exception e) { LogTransportDisposeFailed(_logger, e.Message); }
            }
            finally
            {
                // Whatever failed above, the tunnel has ended: DisposeAsync waits on this and must return.
                _completion.TrySetResult();
            }
        }
    }

    /// <summary>Opens a stream to <paramref name="port"/> on the peer's loopback and waits until the peer has connected it.</summary>
    /// <exception cref="TunnelRefusedException">The peer refused (not an instance port, nothing listening, too many streams) or did not answer in time.</exception>
    /// <exception cref="IOException">The tunnel is closed.</exception>
    public async Task<TunnelStream> OpenAsync(int port, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        if (_closed.IsCancellationRequested) throw new IOException("the tunnel is closed");
        if (_streams.Count >= _options.MaxStreams) throw new TunnelRefusedException($"this tunnel already has {_options.MaxStreams} streams open");
        var id = Interlocked.Add(ref _nextId, 2) - 2;
        var stream = new TunnelStream(this, id, opener: true);
        _streams[id] = stream;
        var payload = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)port);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(2), (uint)_options.StreamWindow);
        Enqueue(new OutFrame(TunnelFrameType.Open, id, payload, payload.Length, Pooled: false), control: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closed.Token);
        timeout.CancelAfter(_options.OpenTimeout);
        try
        {
            await stream.Opened.WaitAsync(timeout.Token).ConfigureAwait(false);
            return stream;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            stream.Abort("open timed out", sendReset: true);
            throw _closed.IsCancellationRequested
                ? new IOException("the tunnel closed while opening a stream")
                : new TunnelRefusedException($"the peer did not connect port {port} within {_options.OpenTimeout.TotalSeconds:0.#} s");
        }
        catch (OperationCanceledException)
        {
            stream.Abort("open cancelled", sendReset: true);
            throw;
        }
    }

    /// <summary>Closes the tunnel: every stream is reset and <see cref="RunAsync"/> returns.</summary>
    public async ValueTask DisposeAsync()
    {
        Abort("the tunnel was disposed");
        if (Volatile.Read(ref _started) == 1) await _completion.Task.ConfigureAwait(false);
        else await _transport.DisposeAsync().ConfigureAwait(false);
        _closed.Dispose();
    }

    internal bool IsClosed => _closed.IsCancellationRequested;

    internal void Forget(uint id) => _streams.TryRemove(id, out _);

    /// <summary>Queues a frame. Data is bounded by credit; control frames by <see cref="TunnelOptions.MaxQueuedControlFrames"/>.</summary>
    internal void Enqueue(OutFrame frame, bool control)
    {
        if (control && Interlocked.Increment(ref _queuedControl) > _options.MaxQueuedControlFrames)
        {
            frame.Release();
            LogPeerNotReading(_logger, _options.MaxQueuedControlFrames);
            Abort("the peer stopped reading");
            return;
        }
        if (!_out.Writer.TryWrite(frame with { Control = control }))
        {
            frame.Release();
            if (control) Interlocked.Decrement(ref _queuedControl);
            if (!control) throw new IOException("the tunnel is closed");
        }
    }

    internal void SendControl(TunnelFrameType type, uint id, uint value)
    {
        var payload = ArrayPool<byte>.Shared.Rent(4);
        BinaryPrimitives.WriteUInt32BigEndian(payload, value);
        Enqueue(new OutFrame(type, id, payload, 4, Pooled: true), control: true);
    }

    internal void SendEmpty(TunnelFrameType type, uint id) => Enqueue(new OutFrame(type, id, [], 0, Pooled: false), control: true);

    internal void SendReset(uint id, string reason)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(reason);
        var length = Math.Min(bytes.Length, TunnelFrameHeader.MaxReasonBytes);
        Enqueue(new OutFrame(TunnelFrameType.Reset, id, bytes, length, Pooled: false), control: true);
    }

    private void Abort(string reason)
    {
        if (_closed.IsCancellationRequested) return;
        try { _closed.Cancel(); } catch (ObjectDisposedException) { return; }
        _out.Writer.TryComplete();
        foreach (var stream in _streams.Values) stream.Abort(reason, sendReset: false);
        _streams.Clear();
        // The read loop may be blocked in a read that ignores cancellation (some streams do): closing unblocks it.
        // A transport may throw anything from Dispose when a read or write is in flight; the tunnel is closing anyway.
        try { _transport.Dispose(); } catch (Exception e) { LogTransportDisposeFailed(_logger, e.Message); }
    }

    private async Task PingLoopAsync()
    {
        var payload = new byte[8];
        try
        {
            while (!_closed.IsCancellationRequested)
            {
                await Task.Delay(_options.PingInterval, _time, _closed.Token).ConfigureAwait(false);
                if (_time.GetElapsedTime(Interlocked.Read(ref _lastReceived)) > _options.IdleTimeout)
                {
                    LogIdle(_logger, _options.IdleTimeout.TotalSeconds);
                    Abort("nothing arrived within the idle timeout");
                    return;
                }
                BinaryPrimitives.WriteInt64BigEndian(payload, _time.GetTimestamp());
                Enqueue(new OutFrame(TunnelFrameType.Ping, 0, (byte[])payload.Clone(), 8, Pooled: false), control: true);
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task WriteLoopAsync()
    {
        var buffer = new byte[TunnelFrameHeader.MaxPayload + TunnelFrameHeader.Size];
        var used = 0;
        try
        {
            while (await _out.Reader.WaitToReadAsync(_closed.Token).ConfigureAwait(false))
            {
                while (_out.Reader.TryRead(out var frame))
                {
                    if (frame.Control) Interlocked.Decrement(ref _queuedControl);
                    if (used + TunnelFrameHeader.Size + frame.Length > buffer.Length)
                    {
                        await _transport.WriteAsync(buffer.AsMemory(0, used), _closed.Token).ConfigureAwait(false);
                        used = 0;
                    }
                    new TunnelFrameHeader(frame.Type, frame.StreamId, frame.Length).Write(buffer.AsSpan(used));
                    frame.Payload.AsSpan(0, frame.Length).CopyTo(buffer.AsSpan(used + TunnelFrameHeader.Size));
                    used += TunnelFrameHeader.Size + frame.Length;
                    frame.Release();
                }
                if (used > 0)
                {
                    await _transport.WriteAsync(buffer.AsMemory(0, used), _closed.Token).ConfigureAwait(false);
                    await _transport.FlushAsync(_closed.Token).ConfigureAwait(false);
                    used = 0;
                }
            }
        }
        // After an abort the transport is disposed under the loop, and a disposed transport may throw anything
        // (a pipe-backed stream throws InvalidOperationException): every failure then means only "closed".
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Net.WebSockets.WebSocketException
                                  || _closed.IsCancellationRequested)
        {
            Abort("the transport failed while writing");
        }
        while (_out.Reader.TryRead(out var left)) left.Release();
    }
}
