using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace VirtualCluster.Runtime.Process;

/// <summary>
/// <c>output.log</c> in an instance's data directory: every captured line as
/// "<c>sequence timestamp stream text</c>", so logs outlive the agent and a restarted agent can
/// continue the sequence. Rotated to <c>output.log.1</c> past a size bound. Thread-safe.
/// </summary>
internal sealed class OutputFile : IDisposable
{
    internal const string FileName = "output.log";

    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    private readonly Lock _lock = new();
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly ILogger _logger;
    private StreamWriter? _writer;
    private long _size;
    private bool _failed;
    private bool _disposed;

    public OutputFile(string directory, long maxBytes, ILogger logger)
    {
        _path = Path.Combine(directory, FileName);
        _maxBytes = maxBytes;
        _logger = logger;
    }

    /// <summary>Appends one line. A disk problem is logged once and then ignored: capture into memory goes on.</summary>
    public void Append(LogLine line)
    {
        lock (_lock)
        {
            if (_disposed || _failed) return;
            try
            {
                _writer ??= Open();
                var text = Format(line);
                _writer.Write(text);
                _writer.Write('\n');
                _writer.Flush();
                _size += Utf8.GetByteCount(text) + 1;
                if (_size >= _maxBytes) Rotate();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _failed = true;
                ProcessDriver.LogOutputFileFailed(_logger, _path, ex.Message);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _writer?.Dispose();
            _writer = null;
        }
    }

    /// <summary>The newest lines of <c>output.log</c> in <paramref name="directory"/> (or of the rotated file when the current one is empty), oldest first.</summary>
    public static IReadOnlyList<LogLine> ReadTail(string directory, int maxLines)
    {
        var path = Path.Combine(directory, FileName);
        var lines = ReadTailOf(path, maxLines);
        return lines.Count > 0 ? lines : ReadTailOf(path + ".1", maxLines);
    }

    internal static string Format(LogLine line) =>
        string.Create(CultureInfo.InvariantCulture, $"{line.Sequence} {line.Timestamp:O} {line.Stream} {line.Text}");

    internal static bool TryParse(string text, out LogLine line)
    {
        line = null!;
        var parts = text.Split(' ', 4);
        if (parts.Length < 4
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || sequence < 1
            || !DateTimeOffset.TryParseExact(parts[1], "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out var timestamp))
        {
            return false;
        }
        line = new LogLine(sequence, timestamp, parts[2], parts[3]);
        return true;
    }

    private static List<LogLine> ReadTailOf(string path, int maxLines)
    {
        var tail = new Queue<LogLine>();
        try
        {
            if (!File.Exists(path)) return [];
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Utf8);
            long last = 0;
            while (reader.ReadLine() is { } text)
            {
                // Skip what cannot be ours (a torn last line after a crash, lines out of order).
                if (!TryParse(text, out var line) || line.Sequence <= last) continue;
                last = line.Sequence;
                tail.Enqueue(line);
                if (tail.Count > maxLines) tail.Dequeue();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable old output only costs history; the instance itself is unaffected.
        }
        return [.. tail];
    }

    private StreamWriter Open()
    {
        var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        _size = stream.Length;
        return new StreamWriter(stream, Utf8);
    }

    private void Rotate()
    {
        _writer?.Dispose();
        _writer = null;
        File.Move(_path, _path + ".1", overwrite: true);
        _size = 0;
    }
}
