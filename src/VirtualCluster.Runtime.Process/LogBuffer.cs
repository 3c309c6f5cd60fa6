namespace VirtualCluster.Runtime.Process;

/// <summary>
/// Bounded, thread-safe ring of the newest output lines of one instance. Sequences are contiguous and
/// continue across restarts of the same instance, so a reader's cursor stays valid.
/// </summary>
internal sealed class LogBuffer
{
    private readonly Lock _lock = new();
    private readonly LogLine[] _ring;
    private int _head;
    private int _count;
    private long _lastSequence;

    /// <param name="capacity">Lines kept.</param>
    /// <param name="seed">Earlier lines (oldest first), e.g. read back from <c>output.log</c>; new lines continue after them.</param>
    public LogBuffer(int capacity, IEnumerable<LogLine>? seed = null)
    {
        _ring = new LogLine[capacity];
        foreach (var line in seed ?? []) Store(line);
    }

    /// <summary>Sequence of the newest line (0 when none).</summary>
    public long LastSequence
    {
        get { lock (_lock) return _lastSequence; }
    }

    /// <summary>Adds a line with the next sequence and, in the same order, writes it to <paramref name="file"/>.</summary>
    public LogLine Append(DateTimeOffset timestamp, string stream, string text, OutputFile? file)
    {
        lock (_lock)
        {
            var line = new LogLine(_lastSequence + 1, timestamp, stream, text);
            Store(line);
            // Written under the lock so the file has the same order as the sequences.
            file?.Append(line);
            return line;
        }
    }

    /// <summary>Lines with a sequence above <paramref name="afterSequence"/>, oldest first, at most <paramref name="maxLines"/>.</summary>
    public IReadOnlyList<LogLine> Read(long afterSequence, int maxLines)
    {
        if (maxLines <= 0) return [];
        lock (_lock)
        {
            // Sequences increase along the ring, so binary search for the first line after the cursor.
            int low = 0, high = _count;
            while (low < high)
            {
                var mid = (low + high) / 2;
                if (At(mid).Sequence > afterSequence) high = mid;
                else low = mid + 1;
            }
            var take = Math.Min(maxLines, _count - low);
            var result = new LogLine[take];
            for (var i = 0; i < take; i++) result[i] = At(low + i);
            return result;
        }
    }

    private LogLine At(int index) => _ring[(_head + index) % _ring.Length];

    private void Store(LogLine line)
    {
        if (line.Sequence <= _lastSequence) return;
        _ring[(_head + _count) % _ring.Length] = line;
        if (_count == _ring.Length) _head = (_head + 1) % _ring.Length;
        else _count++;
        _lastSequence = line.Sequence;
    }
}
