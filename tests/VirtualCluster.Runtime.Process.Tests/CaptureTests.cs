using System.Text;
using Microsoft.Extensions.Logging.Abstractions;

namespace VirtualCluster.Runtime.Process.Tests;

/// <summary>The tail of stdout.log / stderr.log, its saved offsets, and command resolution, without processes.</summary>
public sealed class CaptureTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-capture-").FullName;
    private readonly List<(string Stream, string Text)> _lines = [];

    [Fact]
    public void Offsets_RoundTrip_AndDefaultToZero()
    {
        Assert.Equal(CaptureOffsets.Zero, CaptureOffsets.Read(_dir));
        new CaptureOffsets(12, 345).Write(_dir);
        Assert.Equal(new CaptureOffsets(12, 345), CaptureOffsets.Read(_dir));
        Assert.Equal(new CaptureOffsets(7, 0), CaptureOffsets.Parse("stdout=7\nstderr=oops\nother=1\n"));
    }

    [Fact]
    public void Tail_SavesOffsetsAfterCompleteLines_SoANewTailResumesWithoutLossOrDuplicates()
    {
        OutputTail.CreateFiles(_dir);
        Append("stdout.log", "a\nb\npart");
        Append("stderr.log", "é\n");
        using (var tail = NewTail(CaptureOffsets.Read(_dir)))
        {
            tail.Poll();
        }
        Assert.Equal([("stdout", "a"), ("stdout", "b"), ("stderr", "é")], _lines);
        // "part" has no newline yet: not counted as read. 'é' is two bytes.
        Assert.Equal(new CaptureOffsets(4, 3), CaptureOffsets.Read(_dir));

        _lines.Clear();
        Append("stdout.log", "ial\nlast");
        using (var tail = NewTail(CaptureOffsets.Read(_dir)))
        {
            tail.Poll();
            tail.Finish();
        }
        Assert.Equal([("stdout", "partial"), ("stdout", "last")], _lines);
        Assert.Equal(new CaptureOffsets(16, 3), CaptureOffsets.Read(_dir));
    }

    [Fact]
    public void Tail_TruncatesAFullyReadFilePastTheLimit_AndStartsOverAfterATruncation()
    {
        OutputTail.CreateFiles(_dir);
        Append("stdout.log", "0123456789\n");
        using (var tail = NewTail(CaptureOffsets.Zero, maxFileBytes: 10))
        {
            tail.Poll();
            Assert.Equal(0, new FileInfo(Path.Combine(_dir, "stdout.log")).Length);
            Assert.Equal(CaptureOffsets.Zero, CaptureOffsets.Read(_dir));
            Append("stdout.log", "next\n");
            tail.Poll();
        }
        Assert.Equal(["0123456789", "next"], _lines.Select(l => l.Text));

        // Offsets past the end (saved before a truncation the driver did not live to record): read from the start.
        _lines.Clear();
        new CaptureOffsets(1000, 0).Write(_dir);
        using (var tail = NewTail(CaptureOffsets.Read(_dir)))
        {
            tail.Poll();
        }
        Assert.Equal(["next"], _lines.Select(l => l.Text));
    }

    [Fact]
    public void Tail_WithoutFiles_HasNothing()
    {
        using var tail = NewTail(CaptureOffsets.Zero);
        tail.Poll();
        tail.Finish();
        Assert.False(tail.HasFiles);
        Assert.Empty(_lines);
    }

    [Fact]
    public void Resolver_SearchesPath_SkipsNonExecutables_ReportsThemWhenNothingElseMatches()
    {
        var first = Directory.CreateDirectory(Path.Combine(_dir, "first")).FullName;
        var second = Directory.CreateDirectory(Path.Combine(_dir, "second")).FullName;
        File.WriteAllText(Path.Combine(first, "tool"), "#!/bin/sh\n");
        File.WriteAllText(Path.Combine(second, "tool"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(second, "tool"), UnixFileMode.UserRead | UnixFileMode.UserExecute);

        Assert.Null(CommandResolver.Resolve("tool", "/", $"{first}:{second}", out var resolved));
        Assert.Equal(Path.Combine(second, "tool"), resolved);
        Assert.StartsWith("command \"tool\" is not executable (permission denied)", CommandResolver.Resolve("tool", "/", first, out _), StringComparison.Ordinal);
        Assert.Equal($"command \"nope\" not found in PATH ({first})", CommandResolver.Resolve("nope", "/", first, out _));
        // An empty PATH entry is the working directory, as for execvp.
        Assert.Null(CommandResolver.Resolve("tool", second, ":/nowhere", out resolved));
        Assert.Equal(Path.Combine(second, "tool"), resolved);
    }

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
    }

    private OutputTail NewTail(CaptureOffsets start, long maxFileBytes = 1 << 20) =>
        new(_dir, start, (stream, text) => _lines.Add((stream, text)), maxLineLength: 100, maxFileBytes, NullLogger.Instance);

    private void Append(string name, string text)
    {
        using var file = new FileStream(Path.Combine(_dir, name), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        file.Write(Encoding.UTF8.GetBytes(text));
    }
}
