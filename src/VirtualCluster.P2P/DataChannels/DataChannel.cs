using System.Buffers;
using System.Text;
using VirtualCluster.P2P.Sctp;

namespace VirtualCluster.P2P.DataChannels;

/// <summary>
/// A WebRTC data channel (W3C RTCDataChannel, RFC 8831): a pair of SCTP streams with one id, opened with DCEP or
/// negotiated out of band. Messages keep their boundaries; strings travel as UTF-8 (PPID 51), bytes as PPID 53.
/// </summary>
/// <remarks>
/// Thread-safe: <see cref="Send(ReadOnlySpan{byte})"/> may be called from any thread, including from a handler.
/// Events are raised outside the association's lock, in order, on the thread that received the data.
/// </remarks>
public sealed class DataChannel
{
    private readonly SctpAssociation _association;
    private long _bufferedAmount;
    private long _lowThreshold;

    internal DataChannel(SctpAssociation association, ushort id, string label, DataChannelInit init, bool ackReceived)
    {
        _association = association;
        StreamId = id;
        Label = label;
        Protocol = init.Protocol;
        Ordered = init.Ordered;
        MaxRetransmits = init.MaxRetransmits;
        MaxPacketLifeTime = init.MaxPacketLifeTime;
        Negotiated = init.Negotiated;
        Priority = init.Priority;
        AckReceived = ackReceived;
    }

    /// <summary>The channel's label (need not be unique).</summary>
    public string Label { get; }

    /// <summary>The sub-protocol name.</summary>
    public string Protocol { get; }

    /// <summary>The SCTP stream id (even when this side is the DTLS client, odd otherwise, unless negotiated).</summary>
    public int Id => StreamId;

    /// <summary>Whether messages arrive in order.</summary>
    public bool Ordered { get; }

    /// <summary>Retransmissions before a message is given up; null when reliable or time-limited.</summary>
    public int? MaxRetransmits { get; }

    /// <summary>Lifetime after which a message is given up; null when reliable or retransmission-limited.</summary>
    public TimeSpan? MaxPacketLifeTime { get; }

    /// <summary>Whether the channel was agreed out of band (no DCEP).</summary>
    public bool Negotiated { get; }

    /// <summary>DCEP priority.</summary>
    public ushort Priority { get; }

    /// <summary>The current state.</summary>
    public DataChannelState State { get; internal set; }

    /// <summary>Why the channel closed: null after an orderly close by either side, else the association's failure.</summary>
    public string? CloseReason { get; internal set; }

    /// <summary>Bytes queued by Send and not yet handed to the network (W3C bufferedAmount).</summary>
    public long BufferedAmount => Interlocked.Read(ref _bufferedAmount);

    /// <summary><see cref="BufferedAmountLow"/> fires when <see cref="BufferedAmount"/> falls to this or below. Default 0.</summary>
    public long BufferedAmountLowThreshold
    {
        get => Interlocked.Read(ref _lowThreshold);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Interlocked.Exchange(ref _lowThreshold, value);
        }
    }

    /// <summary>A message arrived (see <see cref="DataChannelMessageHandler"/>: the span is only valid during the call).</summary>
    public event DataChannelMessageHandler? MessageReceived;

    /// <summary>Raised when the channel opens (for channels the peer opened: right after DataChannelOpened).</summary>
    public event Action<DataChannel>? Opened;

    /// <summary>Raised once when the channel has closed; the string is null for an orderly close, else the reason.</summary>
    public event Action<DataChannel, string?>? Closed;

    /// <summary>Raised when <see cref="BufferedAmount"/> drops to <see cref="BufferedAmountLowThreshold"/> or below.</summary>
    public event Action<DataChannel>? BufferedAmountLow;

    internal ushort StreamId { get; }
    internal bool AckReceived { get; set; }
    internal ushort NextSsn { get; set; }
    internal int QueuedMessages { get; set; }
    internal bool OutgoingReset { get; set; }
    internal bool IncomingReset { get; set; }
    internal bool ResetRequested { get; set; }
    internal SctpAssociation Association => _association;
    private readonly TaskCompletionSource _openTask = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closeTask = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the channel is open; fails if it closes first.</summary>
    public Task WaitForOpenAsync(CancellationToken cancellationToken = default) => _openTask.Task.WaitAsync(cancellationToken);

    /// <summary>Completes when the channel has closed.</summary>
    public Task Completion => _closeTask.Task;

    /// <summary>
    /// Sends a binary message (PPID 53; an empty one as PPID 57). Throws <see cref="InvalidOperationException"/>
    /// unless <see cref="State"/> is Open or when the send buffer is full, and <see cref="ArgumentException"/>
    /// when the message is larger than the peer's max-message-size.
    /// </summary>
    public void Send(ReadOnlySpan<byte> message)
    {
        CheckSize(message.Length);
        if (message.IsEmpty) _association.SendMessage(this, [0], Dcep.PpidBinaryEmpty);
        else _association.SendMessage(this, message, Dcep.PpidBinary);
    }

    /// <summary>Sends a text message as UTF-8 (PPID 51; an empty one as PPID 56). Same errors as the binary overload.</summary>
    public void Send(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Length == 0)
        {
            CheckSize(0);
            _association.SendMessage(this, [0], Dcep.PpidStringEmpty);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(message.Length));
        try
        {
            var n = Encoding.UTF8.GetBytes(message, buffer);
            CheckSize(n);
            _association.SendMessage(this, buffer.AsSpan(0, n), Dcep.PpidString);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Closes the channel on both sides: queued messages are still sent, then the stream is reset (RFC 6525), which
    /// closes the peer's end; <see cref="Closed"/> fires when both directions are reset.
    /// </summary>
    public void Close() => _association.CloseChannel(this);

    private void CheckSize(int length)
    {
        var max = _association.RemoteMaxMessageSize;
        if (max > 0 && length > max)
            throw new ArgumentException($"The message is {length} bytes; the peer accepts at most {max} (its max-message-size). Split it, or use DataChannelStream.", "message");
    }

    internal void AddBuffered(long bytes) => Interlocked.Add(ref _bufferedAmount, bytes);

    /// <summary>Subtracts sent bytes; true when this crossed the low threshold (an event is due).</summary>
    internal bool SubtractBuffered(long bytes)
    {
        if (bytes == 0) return false;
        var after = Interlocked.Add(ref _bufferedAmount, -bytes);
        var threshold = BufferedAmountLowThreshold;
        return after <= threshold && after + bytes > threshold;
    }

    internal void RaiseMessage(ReadOnlySpan<byte> message, bool binary) => MessageReceived?.Invoke(this, message, binary);

    /// <summary>
    /// A consumer that takes the association's pooled buffer of each message instead of a span over it (the
    /// <see cref="DataChannelStream"/>): it saves a copy and a rent per message. It returns false when it did not keep
    /// the buffer (the association then returns it to the pool). <see cref="MessageReceived"/> handlers still see
    /// every message first.
    /// </summary>
    internal Func<DataChannel, byte[], int, bool>? MessageOwner { get; set; }

    /// <summary>Raises a message held in a pooled buffer; true when a <see cref="MessageOwner"/> kept the buffer.</summary>
    internal bool RaiseOwnedMessage(byte[] data, int length, bool binary)
    {
        // the owner as it was before the handlers ran: one attached by a handler (a stream created on a protocol's
        // first message) starts with the next message, as a handler attached there would
        var owner = MessageOwner;
        RaiseMessage(data.AsSpan(0, length), binary);
        return length > 0 && owner is not null && owner(this, data, length);
    }
    internal void RaiseOpened() { _openTask.TrySetResult(); Opened?.Invoke(this); }
    internal void RaiseBufferedAmountLow() => BufferedAmountLow?.Invoke(this);

    internal void RaiseClosed(string? reason)
    {
        _openTask.TrySetException(new InvalidOperationException($"Channel '{Label}' closed before it opened{(reason is null ? "" : ": " + reason)}."));
        _openTask.Task.Exception?.Handle(_ => true);
        try { Closed?.Invoke(this, reason); }
        finally { _closeTask.TrySetResult(); }
    }

    /// <inheritdoc />
    public override string ToString() => $"DataChannel '{Label}' id {Id} ({State})";
}
