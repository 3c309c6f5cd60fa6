namespace VirtualCluster.P2P.Sctp;

/// <summary>
/// Messages waiting to be sent, taken round-robin across streams one whole message at a time, so one channel's
/// large message does not hold back the small ones queued behind it on other channels (32 proxied connections share
/// one association). Whole messages, because the fragments of one message need consecutive TSNs (RFC 9260 §6.9,
/// without I-DATA); within a stream, messages keep their order.
/// </summary>
internal sealed class SendQueue
{
    private readonly Dictionary<ushort, Queue<OutboundMessage>> _byStream = new();
    private readonly Queue<ushort> _turns = new();
    private readonly Stack<Queue<OutboundMessage>> _spare = new();

    /// <summary>Messages queued, all streams together.</summary>
    public int Count { get; private set; }

    public void Enqueue(OutboundMessage m)
    {
        if (!_byStream.TryGetValue(m.Stream, out var queue))
        {
            queue = _spare.Count > 0 ? _spare.Pop() : new Queue<OutboundMessage>();
            _byStream[m.Stream] = queue;
            _turns.Enqueue(m.Stream);
        }
        queue.Enqueue(m);
        Count++;
    }

    /// <summary>The message whose turn it is (a started message keeps the turn until it is dequeued).</summary>
    public OutboundMessage Peek() => _byStream[_turns.Peek()].Peek();

    /// <summary>Removes the message <see cref="Peek"/> returned and passes the turn to the next stream.</summary>
    public OutboundMessage Dequeue()
    {
        var stream = _turns.Dequeue();
        var queue = _byStream[stream];
        var m = queue.Dequeue();
        Count--;
        if (queue.Count > 0) _turns.Enqueue(stream);
        else
        {
            _byStream.Remove(stream);
            if (_spare.Count < 64) _spare.Push(queue);
        }
        return m;
    }
}
