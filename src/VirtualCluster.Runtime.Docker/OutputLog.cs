using System.Text;

namespace VirtualCluster.Runtime.Docker;

/// <summary>
/// Bounded, thread-safe ring of an instance's newest output lines. Sequences are contiguous and go on across runs
/// of the same instance; <see cref="Rebase"/> lets output re-read from Docker after an agent restart get the same
/// numbers it had before.
/// </summary>
internal sealed class OutputLog(int capacity)
{
    private readonly Lock _lock = new();
    private readonly LogLine[] _ring = new LogLine[capacity];
    private int _head;
    private int _count;
    private long _last;

    public long LastSequence
    {
        get { lock (_lock) return _last; }
    }

    /// <summary>Continues numbering after <paramref name="sequence"/> (only ever forward).</summary>
    public void Rebase(long sequence)
    {
        lock (_lock) _last = Math.Max(_last, sequence);
    }

    public void Append(DateTimeOffset timestamp, string stream, string text)
    {
        lock (_lock)
        {
            var line = new LogLine(++_last, timestamp, stream, text);
            _ring[(_head + _count) % _ring.Length] = line;
            if (_count == _ring.Length) _head = (_head + 1) % _ring.Length;
            else _count++;
        }
    }

    /// <summary>Lines after <paramref name="afterSequence"/>, oldest first, at most <paramref name="maxLines"/>.</summary>
    public IReadOnlyList<LogLine> Read(long afterSequence, int maxLines)
    {
        if (maxLines <= 0) return [];
        lock (_lock)
        {
            var result = new List<LogLine>(Math.Min(maxLines, _count));
            for (var i = 0; i < _count && result.Count < maxLines; i++)
            {
                var line = _ring[(_head + i) % _ring.Length];
                if (line.Sequence > afterSequence) result.Add(line);
            }
            return result;
        }
    }
}

/// <summary>
/// Turns a stream of bytes into lines: UTF-8 decoding that survives characters split across chunks, '\n' endings
/// ("\r\n" too), overlong lines cut and marked. One per output stream.
/// </summary>
internal sealed class LineReader(int maxLineLength, Action<string> onLine)
{
    public const string TruncatedMark = " [truncated]";

    private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
    private readonly StringBuilder _line = new();
    private char[] _chars = new char[4096];
    private bool _truncated;

    public void Feed(ReadOnlySpan<byte> bytes, bool flush = false)
    {
        var needed = _decoder.GetCharCount(bytes, flush);
        if (needed > _chars.Length) _chars = new char[needed];
        var count = _decoder.GetChars(bytes, _chars, flush);
        var chars = _chars.AsSpan(0, count);
        while (!chars.IsEmpty)
        {
            var newline = chars.IndexOf('\n');
            if (newline < 0)
            {
                Add(chars);
                break;
            }
            Add(chars[..newline]);
            Emit();
            chars = chars[(newline + 1)..];
        }
    }

    /// <summary>End of stream: emits a last line that had no newline.</summary>
    public void Flush()
    {
        Feed([], flush: true);
        if (_line.Length > 0 || _truncated) Emit();
    }

    private void Add(ReadOnlySpan<char> part)
    {
        var room = maxLineLength - _line.Length;
        if (part.Length > room)
        {
            _truncated = true;
            part = part[..Math.Max(room, 0)];
        }
        _line.Append(part);
    }

    private void Emit()
    {
        if (_line.Length > 0 && _line[^1] == '\r') _line.Length--;
        if (_truncated) _line.Append(TruncatedMark);
        var text = _line.ToString();
        _line.Clear();
        _truncated = false;
        onLine(text);
    }
}
