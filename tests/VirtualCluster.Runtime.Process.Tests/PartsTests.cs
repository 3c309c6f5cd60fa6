using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Runtime;

namespace VirtualCluster.Runtime.Process.Tests;

public sealed class PartsTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void LineSplitter_SplitsAcrossChunks_StripsCr_TruncatesLongLines()
    {
        var lines = new List<string>();
        var splitter = new LineSplitter(5, lines.Add);

        splitter.Feed("ab");
        splitter.Feed("c\r\nlonger-line\n\nx");
        splitter.Flush();

        Assert.Equal(["abc", "longe" + LineSplitter.TruncatedMark, "", "x"], lines);
    }

    [Fact]
    public void LogBuffer_KeepsNewestLines_AndPages()
    {
        var buffer = new LogBuffer(3);
        for (var i = 1; i <= 5; i++) buffer.Append(T0, "stdout", $"line {i}", file: null);

        Assert.Equal([3L, 4, 5], buffer.Read(0, 10).Select(l => l.Sequence));
        Assert.Equal([4L], buffer.Read(3, 1).Select(l => l.Sequence));
        Assert.Empty(buffer.Read(5, 10));
        Assert.Empty(buffer.Read(0, 0));
        Assert.Equal(5, buffer.LastSequence);
    }

    [Fact]
    public void LogBuffer_ContinuesAfterSeed()
    {
        var buffer = new LogBuffer(10, [new LogLine(41, T0, "stdout", "old"), new LogLine(42, T0, "stderr", "older")]);

        var next = buffer.Append(T0, "stdout", "new", file: null);

        Assert.Equal(43, next.Sequence);
        Assert.Equal([41L, 42, 43], buffer.Read(0, 10).Select(l => l.Sequence));
    }

    [Fact]
    public void OutputFile_RoundTripsLines_AndRotates()
    {
        var directory = Directory.CreateTempSubdirectory("vc-output-").FullName;
        try
        {
            using (var file = new OutputFile(directory, maxBytes: 200, NullLogger.Instance))
            {
                for (var i = 1; i <= 10; i++) file.Append(new LogLine(i, T0, "stdout", $"text with  spaces {i}"));
            }

            Assert.True(File.Exists(Path.Combine(directory, "output.log.1")));
            var tail = OutputFile.ReadTail(directory, 3);
            Assert.Equal(10, tail[^1].Sequence);
            Assert.Equal("text with  spaces 10", tail[^1].Text);
            Assert.Equal(T0, tail[^1].Timestamp);
            Assert.True(tail.Count <= 3);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("x 2025-01-02T03:04:05.0000000+00:00 stdout a")]
    [InlineData("1 yesterday stdout a")]
    [InlineData("1 2025-01-02T03:04:05.0000000+00:00 stdout")]
    public void OutputFile_RejectsMalformedLines(string text) => Assert.False(OutputFile.TryParse(text, out _));

    [Fact]
    public void OutputFile_KeepsEmptyText()
    {
        Assert.True(OutputFile.TryParse(OutputFile.Format(new LogLine(3, T0, "stderr", "")), out var line));
        Assert.Equal(new LogLine(3, T0, "stderr", ""), line);
    }

    [Fact]
    public void PidFile_RoundTrips()
    {
        var file = new PidFile("hello-1a2b", 12, 4242, 987654, "boot-id", T0, ExitCode: -1);

        Assert.True(PidFile.TryParse(file.Format(), out var parsed));
        Assert.Equal(file, parsed);
        Assert.True(PidFile.TryParse((file with { ExitCode = null }).Format(), out parsed));
        Assert.Null(parsed.ExitCode);
        Assert.False(PidFile.TryParse("pid=12\n", out _));
        Assert.False(PidFile.TryParse(file.Format().Replace("pid=4242", "pid=0", StringComparison.Ordinal), out _));
    }

    [Fact]
    public void ProcStat_ParsesCommandWithSpacesAndParens()
    {
        const string text = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5566 1000 200 18446744073709551615";

        Assert.True(ProcFs.TryParseStat(text, out var stat));
        Assert.Equal(new ProcStat(1234, 'S', 1, 5566), stat);
        Assert.True(stat.IsRunning);
        Assert.False((stat with { State = 'Z' }).IsRunning);
        Assert.False(ProcFs.TryParseStat("1234 (short) S 1 2", out _));
    }

    [Fact]
    public void ProcStat_OfThisProcess()
    {
        var stat = ProcFs.ReadStat(Environment.ProcessId);

        Assert.NotNull(stat);
        Assert.True(ProcFs.IsAlive(Environment.ProcessId, stat.Value.StartTime));
        Assert.False(ProcFs.IsAlive(Environment.ProcessId, stat.Value.StartTime + 1));
    }

    [Theory]
    [InlineData("http", "HTTP")]
    [InlineData("admin-api", "ADMIN_API")]
    [InlineData("grpc.v2", "GRPC_V2")]
    [InlineData("snake_case", "SNAKE_CASE")]
    public void VariableSuffix_IsUpperSnake(string name, string expected) =>
        Assert.Equal(expected, WorkloadEnvironment.VariableSuffix(name));

    [Theory]
    [InlineData("data", true)]
    [InlineData("..", false)]
    [InlineData(".", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    public void VolumeNames_MustBePlain(string name, bool safe) =>
        Assert.Equal(safe, WorkloadEnvironment.IsSafeVolumeName(name));

    [Fact]
    public void Environment_DriverValuesWin()
    {
        var spec = new ServiceSpec
        {
            Name = "s",
            Driver = "process",
            Command = "x",
            Ports = [new PortSpec("web")],
            Env = new Dictionary<string, string> { ["PORT"] = "1", ["A"] = "spec" },
        };
        var request = new WorkloadStartRequest("i", 1, spec, new Dictionary<string, int> { ["web"] = 30000 },
            new Dictionary<string, string> { ["A"] = "request" }, "/tmp/i");

        var env = WorkloadEnvironment.Build(request, new Dictionary<string, string> { ["db"] = "/tmp/i/volumes/db" });

        Assert.Equal("30000", env["PORT"]);
        Assert.Equal("30000", env["VC_PORT_WEB"]);
        Assert.Equal("request", env["A"]);
        Assert.Equal("/tmp/i/volumes/db", env["VC_VOLUME_DB"]);
    }
}
