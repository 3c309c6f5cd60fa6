using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace VirtualCluster.Routing.Tunnel;

public sealed partial class TunnelMux
{
    private async Task ReadLoopAsync()
    {
        var header = new byte[TunnelFrameHeader.Size];
        var payload = new byte[TunnelFrameHeader.MaxPayload];
        try
        {
            while (!_closed.IsCancellationRequested)
            {
                if (!await ReadExactlyAsync(header).ConfigureAwait(false)) return;
                if (!TunnelFrameHeader.TryRead(header, out var frame, out var error))
                {
                    LogProtocolError(_logger, error!);
                    return;
                }
                if (frame.Length > 0 && !await ReadExactlyAsync(payload.AsMemory(0, frame.Length)).ConfigureAwait(false)) return;
                Interlocked.Exchange(ref _lastReceived, _time.GetTimestamp());
                Dispatch(frame, payload.AsSpan(0, frame.Length));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Net.WebSockets.WebSocketException
                                  || _closed.IsCancellationRequested)
        {
            // The transport ended, or was disposed under the read by an abort: the finally of RunAsync resets every stream.
        }
    }

    /// <summary>False at a clean end of the transport before the first byte; a cut inside a frame is an error too.</summary>
    private async ValueTask<bool> ReadExactlyAsync(Memory<byte> buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _transport.ReadAsync(buffer[read..], _closed.Token).ConfigureAwait(false);
            if (n == 0)
            {
                if (read > 0) LogProtocolError(_logger, "the transport ended inside a frame");
                return false;
            }
            read += n;
        }
        return true;
    }

    private void Dispatch(TunnelFrameHeader frame, ReadOnlySpan<byte> payload)
    {
        switch (frame.Type)
        {
            case TunnelFrameType.Ping:
                Enqueue(new OutFrame(TunnelFrameType.Pong, 0, payload.ToArray(), 8, Pooled: false), control: true);
                return;
            case TunnelFrameType.Pong:
                var sent = BinaryPrimitives.ReadInt64BigEndian(payload);
                var rtt = _time.GetElapsedTime(sent);
                // A peer may echo garbage; only a plausible round trip is kept.
                if (rtt >= TimeSpan.Zero && rtt < _options.IdleTimeout) RoundTrip = rtt;
                return;
            case TunnelFrameType.Open:
                OnOpen(frame.StreamId, BinaryPrimitives.ReadUInt16BigEndian(payload), BinaryPrimitives.ReadUInt32BigEndian(payload[2..]));
                return;
        }
        if (!_streams.TryGetValue(frame.StreamId, out var stream))
        {
            // Data for a stream we do not know (never opened, or already reset): tell the peer to stop. Other frames
            // for unknown streams are late and harmless.
            if (frame.Type == TunnelFrameType.Data) SendReset(frame.StreamId, "unknown stream");
            else if (frame.Type == TunnelFrameType.OpenAck) SendReset(frame.StreamId, "the open was given up");
            return;
        }
        switch (frame.Type)
        {
            case TunnelFrameType.OpenAck:
                stream.OnOpenAck(BinaryPrimitives.ReadUInt32BigEndian(payload));
                break;
            case TunnelFrameType.Data:
                stream.OnData(payload);
                break;
            case TunnelFrameType.Window:
                stream.OnWindow(BinaryPrimitives.ReadUInt32BigEndian(payload));
                break;
            case TunnelFrameType.Close:
                stream.OnRemoteClose();
                break;
            case TunnelFrameType.Reset:
                stream.Abort("reset by the peer: " + Encoding.UTF8.GetString(payload), sendReset: false);
                break;
        }
    }

    private void OnOpen(uint id, int port, uint window)
    {
        var peerParity = _nextId % 2 == 0 ? 1u : 0u;
        if (id % 2 != peerParity || _streams.ContainsKey(id))
        {
            // A peer that reuses a live id or takes ours is broken; the id cannot be trusted for a reset either.
            LogProtocolError(_logger, $"the peer opened stream {id}, which is not free for it");
            Abort("protocol error");
            return;
        }
        if (_connect is null) { SendReset(id, "this side accepts no streams"); return; }
        if (port == 0) { SendReset(id, "port 0 is not a port"); return; }
        if (window is 0 or > int.MaxValue) { SendReset(id, $"receive window {window} must be 1..{int.MaxValue}"); return; }
        if (_streams.Count >= _options.MaxStreams) { SendReset(id, $"this tunnel already has {_options.MaxStreams} streams open"); return; }
        var stream = new TunnelStream(this, id, opener: false);
        stream.OnWindow(window);
        _streams[id] = stream;
        _ = Task.Run(() => AcceptAsync(stream, port));
    }

    private async Task AcceptAsync(TunnelStream stream, int port)
    {
        Stream local;
        try
        {
            local = await _connect!(port, _closed.Token).ConfigureAwait(false);
        }
        catch (TunnelRefusedException e)
        {
            LogRefused(_logger, port, e.Message);
            stream.Abort(e.Message, sendReset: true);
            return;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            LogRefused(_logger, port, e.Message);
            stream.Abort($"cannot connect to port {port}: {e.Message}", sendReset: true);
            return;
        }
        try
        {
            SendControl(TunnelFrameType.OpenAck, stream.Id, (uint)_options.StreamWindow);
            stream.MarkOpened();
            await TunnelBridge.RunAsync(stream, local).ConfigureAwait(false);
        }
        finally
        {
            await local.DisposeAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>A frame waiting for the write loop. <paramref name="Payload"/> is returned to the pool after writing when <paramref name="Pooled"/>.</summary>
internal readonly record struct OutFrame(TunnelFrameType Type, uint StreamId, byte[] Payload, int Length, bool Pooled, bool Control = false)
{
    public void Release()
    {
        if (Pooled) ArrayPool<byte>.Shared.Return(Payload);
    }
}

/// <summary>The peer (or this side) would not connect a stream; the message says why.</summary>
public sealed class TunnelRefusedException(string message) : Exception(message);
