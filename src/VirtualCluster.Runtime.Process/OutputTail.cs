using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace VirtualCluster.Runtime.Process;

/// <summary>
/// Reads what one run of a workload writes to <c>stdout.log</c> and <c>stderr.log</c> in its data directory and
/// hands it on line by line. The workload writes those files itself (opened with O_APPEND), so its output never
/// depends on the agent being alive; the driver polls them and, after an agent restart, a new driver resumes from
/// the offsets saved in <c>output.offsets</c>. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Offsets are saved after the lines before them were handed on (and so written to <c>output.log</c>). A driver
/// killed between the two hands the lines of its last poll on again after the restart: a few duplicated lines at
/// the boundary, never a lost one. A partial line (no newline yet) is not counted as read, so it is read again
/// whole.</para>
/// <para>Disk use is bounded: a capture file that has reached the size limit and has been read to its end is truncated
/// to zero, which O_APPEND writers follow (their next write lands at offset 0). A write that lands between the size
/// check and the truncation is lost: a window of microseconds, at most once per limit's worth of output.</para>
/// </remarks>
internal sealed class OutputTail : IDisposable
{
    internal const string StdoutFileName = "stdout.log";
    internal const string StderrFileName = "stderr.log";

    private const int ChunkBytes = 64 * 1024;

    /// <summary>Per stream and poll, so one chatty stream cannot hold the poll (and the other instances) up.</summary>
    private const int MaxBytesPerPoll = 4 * 1024 * 1024;

    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    private readonly Lock _lock = new();
    private readonly string _directory;
    private readonly long _maxFileBytes;
    private readonly ILogger _logger;
    private readonly Capture[] _streams;
    private readonly byte[] _bytes = new byte[ChunkBytes];
    private readonly char[] _chars = new char[Utf8.GetMaxCharCount(ChunkBytes)];
    private bool _closed;
    private bool _errorLogged;

    /// <param name="directory">The instance's data directory.</param>
    /// <param name="start">Where to start reading; offsets past a file's end mean it was truncated since, so 0.</param>
    /// <param name="onLine">Called with (stream, text) per line, in file order per stream.</param>
    /// <param name="maxLineLength">Longest line kept, in characters.</param>
    /// <param name="maxFileBytes">Size from which a fully read capture file is truncated.</param>
    /// <param name="logger">Where read and save problems are reported (once).</param>
    public OutputTail(string directory, CaptureOffsets start, Action<string, string> onLine, int maxLineLength, long maxFileBytes, ILogger logger)
    {
        _directory = directory;
        _maxFileBytes = maxFileBytes;
        _logger = logger;
        _streams =
        [
            new Capture("stdout", Path.Combine(directory, StdoutFileName), start.Stdout, maxLineLength, onLine),
            new Capture("stderr", Path.Combine(directory, StderrFileName), start.Stderr, maxLineLength, onLine),
        ];
    }

    /// <summary>False when neither capture file exists (a process started before the driver wrote output to files).</summary>
    public bool HasFiles => _streams.Any(s => s.Handle is not null);

    /// <summary>
    /// Gives a new run fresh, empty capture files. The old files are unlinked rather than truncated, so a leftover
    /// child of an earlier run that still holds them cannot write into the new run's output. Files go before the
    /// offsets: a crash in between leaves offsets past the (new, empty) files' end, which reads as "start at 0".
    /// </summary>
    /// <returns>The paths of stdout.log and stderr.log.</returns>
    public static (string Stdout, string Stderr) CreateFiles(string directory)
    {
        var stdout = Path.Combine(directory, StdoutFileName);
        var stderr = Path.Combine(directory, StderrFileName);
        File.Delete(stdout);
        File.Delete(stderr);
        File.Delete(Path.Combine(directory, CaptureOffsets.FileName));
        File.WriteAllBytes(stdout, []);
        File.WriteAllBytes(stderr, []);
        return (stdout, stderr);
    }

    /// <summary>Hands on every complete line written since the last poll and saves the offsets.</summary>
    public void Poll()
    {
        lock (_lock)
        {
            if (_closed) return;
            var moved = false;
            foreach (var stream in _streams) moved |= ReadNew(stream);
            if (moved) Save();
        }
    }

    /// <summary>The run has ended: hands on the rest, a last line without newline included, and stops.</summary>
    public void Finish()
    {
        lock (_lock)
        {
            if (_closed) return;
            foreach (var stream in _streams)
            {
                ReadNew(stream);
                stream.Flush();
            }
            Save();
            Close();
        }
    }

    /// <summary>Stops reading without handing on partial lines; the saved offsets let a later driver resume.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (!_closed) Close();
        }
    }

    /// <returns>True when the saved offsets must change.</returns>
    private bool ReadNew(Capture stream)
    {
        if (stream.Handle is not { } handle) return false;
        try
        {
            var moved = false;
            if (RandomAccess.GetLength(handle) < stream.Position)
            {
                // Truncated by someone else (e.g. logrotate's copytruncate): what it now holds is new.
                stream.Position = stream.Committed = 0;
                moved = true;
            }
            for (var budget = MaxBytesPerPoll; budget > 0;)
            {
                var read = RandomAccess.Read(handle, _bytes.AsSpan(0, Math.Min(ChunkBytes, budget)), stream.Position);
                if (read == 0) break;
                var chunk = _bytes.AsSpan(0, read);
                var chars = stream.Decoder.GetChars(chunk, _chars, flush: false);
                stream.Splitter.Feed(_chars.AsSpan(0, chars));
                // '\n' never occurs inside a UTF-8 sequence, so the byte after it is where the next line starts.
                var newline = chunk.LastIndexOf((byte)'\n');
                if (newline >= 0)
                {
                    stream.Committed = stream.Position + newline + 1;
                    moved = true;
                }
                stream.Position += read;
                budget -= read;
            }
            if (stream.Position >= _maxFileBytes && TryTruncate(stream, handle)) moved = true;
            return moved;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ReportOnce(stream.Path, ex);
            return false;
        }
    }

    /// <summary>Empties a capture file that has been read to its end; see the class remarks for the race.</summary>
    private static bool TryTruncate(Capture stream, SafeFileHandle handle)
    {
        if (RandomAccess.GetLength(handle) != stream.Position) return false;
        using (var writer = File.OpenHandle(stream.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            RandomAccess.SetLength(writer, 0);
        }
        // A partial line already read stays in memory; only a restart before its newline would lose its start.
        stream.Position = stream.Committed = 0;
        return true;
    }

    private void Save()
    {
        try
        {
            new CaptureOffsets(_streams[0].Committed, _streams[1].Committed).Write(_directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Reading goes on; a restart would then repeat lines since the last offsets that were saved.
            ReportOnce(Path.Combine(_directory, CaptureOffsets.FileName), ex);
        }
    }

    private void ReportOnce(string path, Exception ex)
    {
        if (_errorLogged) return;
        _errorLogged = true;
        ProcessDriver.LogCaptureFailed(_logger, path, ex.Message);
    }

    private void Close()
    {
        _closed = true;
        foreach (var stream in _streams) stream.Handle?.Dispose();
    }

    /// <summary>Reading state of one capture file.</summary>
    private sealed class Capture
    {
        public Capture(string name, string path, long start, int maxLineLength, Action<string, string> onLine)
        {
            Path = path;
            Splitter = new LineSplitter(maxLineLength, text => onLine(name, text));
            try
            {
                Handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                // Past the end: the file was truncated after the offsets were saved (see TryTruncate).
                Position = Committed = start <= RandomAccess.GetLength(Handle) ? start : 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Missing (started by a driver that used pipes) or unreadable: this stream has nothing to give.
                Handle = null;
            }
        }

        public string Path { get; }

        public SafeFileHandle? Handle { get; }

        /// <summary>Next byte to read.</summary>
        public long Position { get; set; }

        /// <summary>Just after the last newline read: where a new driver would resume.</summary>
        public long Committed { get; set; }

        public Decoder Decoder { get; } = Utf8.GetDecoder();

        public LineSplitter Splitter { get; }

        /// <summary>End of output: decodes what is left and hands on the last line even without a newline.</summary>
        public void Flush()
        {
            Span<char> rest = stackalloc char[8];
            var chars = Decoder.GetChars([], rest, flush: true);
            Splitter.Feed(rest[..chars]);
            Splitter.Flush();
            Committed = Position;
        }
    }
}
