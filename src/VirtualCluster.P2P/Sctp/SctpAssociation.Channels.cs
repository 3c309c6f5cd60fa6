using System.Buffers;
using VirtualCluster.P2P.DataChannels;

namespace VirtualCluster.P2P.Sctp;

public sealed partial class SctpAssociation
{
    private readonly Dictionary<ushort, DataChannel> _channels = new();
    private const int MaxChannels = 65534;

    /// <summary>
    /// Creates a channel. Before the association is established it waits (state Connecting) and opens when it is;
    /// after, it opens at once: DCEP DATA_CHANNEL_OPEN is sent and the channel is Open (messages sent before the
    /// peer's ACK go ordered, RFC 8832 §6). Negotiated channels send no DCEP and need the same Id on both sides.
    /// </summary>
    /// <exception cref="ArgumentException">The label or init is invalid, or the id is taken.</exception>
    /// <exception cref="InvalidOperationException">The association has ended or no stream id is free.</exception>
    /// <param name="beforeOpen">
    /// Runs before the DCEP open goes out, to attach handlers: a peer that answers at once (a first message, a
    /// close) cannot beat a handler attached here, as it can one attached after this method returns.
    /// </param>
    public DataChannel CreateDataChannel(string label, DataChannelInit? init = null, Action<DataChannel>? beforeOpen = null)
    {
        ArgumentNullException.ThrowIfNull(label);
        init ??= new DataChannelInit();
        init.Validate();
        if (System.Text.Encoding.UTF8.GetByteCount(label) > ushort.MaxValue) throw new ArgumentException("The label is longer than 65535 UTF-8 bytes.", nameof(label));
        DataChannel channel;
        lock (_gate)
        {
            if (_state >= AssocState.ShutdownPending) throw new InvalidOperationException($"The association is {State}; no channel can be opened.");
            ushort id;
            if (init.Id is { } wanted)
            {
                id = (ushort)wanted;
                if (_channels.ContainsKey(id)) throw new ArgumentException($"Stream id {id} is already used by channel '{_channels[id].Label}'.", nameof(init));
            }
            else id = FreeStreamId();
            channel = new DataChannel(this, id, label, init, ackReceived: init.Negotiated);
            _channels[id] = channel;
            if (_state == AssocState.Established && beforeOpen is null) OpenChannel(channel);
        }
        if (beforeOpen is not null)
        {
            beforeOpen(channel); // outside the lock: it is the caller's code
            lock (_gate)
            {
                if (_state == AssocState.Established && channel.State == DataChannelState.Connecting) OpenChannel(channel);
            }
        }
        Dispatch();
        return channel;
    }

    /// <summary>The lowest free id of our parity: even for the DTLS client, odd for the server (RFC 8832 §6).</summary>
    private ushort FreeStreamId()
    {
        var limit = _state >= AssocState.Established ? Math.Min((int)_peerInboundStreams, MaxChannels + 1) : MaxChannels + 1;
        for (var id = IsDtlsClient ? 0 : 1; id < limit; id += 2)
            if (!_channels.ContainsKey((ushort)id)) return (ushort)id;
        throw new InvalidOperationException("No stream id is free: close channels before opening more.");
    }

    private void OpenChannel(DataChannel channel)
    {
        if (channel.StreamId >= _peerInboundStreams)
        {
            channel.State = DataChannelState.Closed;
            _channels.Remove(channel.StreamId);
            _events.Add(new PendingEvent { Kind = EventKind.ChannelClosed, Channel = channel, Reason = $"stream id {channel.StreamId} is beyond the {_peerInboundStreams} streams the peer accepts" });
            return;
        }
        channel.State = DataChannelState.Open;
        if (!channel.Negotiated) EnqueueMessage(channel, Dcep.EncodeOpen(channel), Dcep.PpidDcep, false, -1, null);
        _events.Add(new PendingEvent { Kind = EventKind.ChannelOpen, Channel = channel });
        TrySend();
    }

    private void OnEstablishedChannels()
    {
        foreach (var c in _channels.Values.ToList())
            if (c.State == DataChannelState.Connecting) OpenChannel(c);
    }

    /// <summary>A complete message for the user or for DCEP. Takes ownership of the pooled <paramref name="data"/>.</summary>
    private void Deliver(ushort stream, uint ppid, byte[] data, int length)
    {
        if (ppid == Dcep.PpidDcep)
        {
            try { HandleDcep(stream, data.AsSpan(0, length)); }
            finally { ArrayPool<byte>.Shared.Return(data); }
            return;
        }
        if (!_channels.TryGetValue(stream, out var channel) || channel.State is DataChannelState.Closed || channel.IncomingReset)
        {
            Drop("data-for-unknown-channel");
            ArrayPool<byte>.Shared.Return(data);
            return;
        }
        var (binary, empty) = ppid switch
        {
            Dcep.PpidString or Dcep.PpidStringPartial => (false, false),
            Dcep.PpidStringEmpty => (false, true),
            Dcep.PpidBinaryEmpty => (true, true),
            _ => (true, false),
        };
        _events.Add(new PendingEvent { Kind = EventKind.Message, Channel = channel, Data = data, Length = empty ? 0 : length, Binary = binary });
    }

    private void HandleDcep(ushort stream, ReadOnlySpan<byte> m)
    {
        if (m.IsEmpty) { Drop("malformed-dcep"); return; }
        if (m[0] == Dcep.MessageAck)
        {
            if (_channels.TryGetValue(stream, out var c)) c.AckReceived = true;
            return;
        }
        if (m[0] != Dcep.MessageOpen) { Drop("unknown-dcep"); return; }
        if (!Dcep.TryParseOpen(m, out var init, out var label, out var error)) { Drop("malformed-dcep"); Log.BadDcep(_logger, stream, error); return; }
        if ((stream % 2 == 0) == IsDtlsClient)
        {
            // The peer must use its own parity; a clash would make both sides own the stream.
            Drop("dcep-wrong-parity");
            Log.BadDcep(_logger, stream, "the id has this side's parity");
            return;
        }
        if (_channels.TryGetValue(stream, out var existing))
        {
            Drop("dcep-stream-in-use");
            Log.BadDcep(_logger, stream, $"stream already used by '{existing.Label}'");
            return;
        }
        init.Id = stream;
        var channel = new DataChannel(this, stream, label, init, ackReceived: true) { State = DataChannelState.Open };
        _channels[stream] = channel;
        EnqueueMessage(channel, [Dcep.MessageAck], Dcep.PpidDcep, false, -1, null);
        _events.Add(new PendingEvent { Kind = EventKind.RemoteChannel, Channel = channel });
        _metrics.DataChannelOpened();
    }

    internal void CloseChannel(DataChannel channel)
    {
        lock (_gate)
        {
            if (channel.State is DataChannelState.Closing or DataChannelState.Closed) return;
            if (_state != AssocState.Established || !_peerSupportsReconfig)
            {
                // Nothing to reset (not yet open) or a peer without RE-CONFIG: close locally.
                FinishChannel(channel, null);
            }
            else
            {
                channel.State = DataChannelState.Closing;
                channel.ResetRequested = true;
                _resetWanted = true;
                QueueStreamReset();
                TrySend();
            }
        }
        Dispatch();
    }

    private void FinishChannel(DataChannel channel, string? reason)
    {
        if (channel.State == DataChannelState.Closed) return;
        channel.State = DataChannelState.Closed;
        channel.CloseReason = reason;
        if (_channels.TryGetValue(channel.StreamId, out var c) && c == channel) _channels.Remove(channel.StreamId);
        _inbound.Remove(channel.StreamId);
        _events.Add(new PendingEvent { Kind = EventKind.ChannelClosed, Channel = channel, Reason = reason });
    }

    private void CloseAllChannels(string reason)
    {
        foreach (var c in _channels.Values.ToList()) FinishChannel(c, reason);
    }
}
