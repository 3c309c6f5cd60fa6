using System.Text;

namespace VirtualCluster.Runtime.Process;

/// <summary>
/// Cuts a character stream into lines. Lines longer than the limit are cut short so one runaway
/// writer cannot exhaust memory; the dropped part is marked.
/// </summary>
internal sealed class LineSplitter(int maxLineLength, Action<string> onLine)
{
    internal const string TruncatedMark = " [truncated]";

    private readonly StringBuilder _line = new();
    private bool _truncated;

    /// <summary>Feeds characters; calls back once per completed line.</summary>
    public void Feed(ReadOnlySpan<char> chars)
    {
        while (!chars.IsEmpty)
        {
            var newline = chars.IndexOf('\n');
            if (newline < 0)
            {
                Add(chars);
                return;
            }
            Add(chars[..newline]);
            Emit();
            chars = chars[(newline + 1)..];
        }
    }

    /// <summary>Emits a last line that had no newline (end of stream).</summary>
    public void Flush()
    {
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
        // CRLF writers: the '\r' belongs to the line ending, not the text.
        if (_line.Length > 0 && _line[^1] == '\r') _line.Length--;
        var text = _truncated ? _line.Append(TruncatedMark).ToString() : _line.ToString();
        _line.Clear();
        _truncated = false;
        onLine(text);
    }
}
