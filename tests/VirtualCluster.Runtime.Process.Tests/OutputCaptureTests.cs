using VirtualCluster.Runtime;

namespace VirtualCluster.Runtime.Process.Tests;

/// <summary>Output goes to files the process writes itself, so it outlives the driver (the agent) that started it.</summary>
public sealed class OutputCaptureTests : DriverFixture
{
    /// <summary>One line every 50 ms, numbered, for ever.</summary>
    private static readonly ServiceSpec Ticker = Shell("""i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.05; done""");

    [Fact]
    public async Task Process_KeepsRunningAndWriting_AfterItsDriverIsGone()
    {
        var first = NewDriver();
        var status = await StartAsync(Request("tick-1", Ticker), first);
        await WaitForLinesAsync("tick-1", 3, first);

        // What an agent killed with -9 leaves behind: no reader. With pipes the next echo got SIGPIPE.
        await first.DisposeAsync();
        var seen = LastTick(ReadShared(StdoutPath("tick-1")));
        await Poll.UntilAsync(() => LastTick(ReadShared(StdoutPath("tick-1"))) >= seen + 20, "20 more ticks with no driver");

        Assert.True(Poll.PidExists(status.Pid!.Value), "the workload died once its driver was gone");
    }

    [Fact]
    public async Task Recover_ReadsOnWhereThePreviousDriverStopped_WithoutGapsOrDuplicates()
    {
        var first = NewDriver();
        var status = await StartAsync(Request("tick-2", Ticker), first);
        await WaitForLinesAsync("tick-2", 3, first);
        await first.DisposeAsync();
        var readByFirst = LastTick(string.Join('\n', OutputLogTexts("tick-2")));
        await Poll.UntilAsync(() => LastTick(ReadShared(StdoutPath("tick-2"))) >= readByFirst + 10, "ticks written while no driver runs");
        var writtenBeforeAdoption = LastTick(ReadShared(StdoutPath("tick-2")));

        var second = NewDriver();
        var adopted = Assert.Single(await second.RecoverAsync(Root));
        Assert.Equal((WorkloadState.Running, status.Pid), (adopted.State, adopted.Pid));
        IReadOnlyList<LogLine> lines = [];
        await Poll.UntilAsync(async () => LastTick(string.Join('\n', (lines = await second.ReadLogsAsync("tick-2", 0, 1000)).Select(l => l.Text))) >= writtenBeforeAdoption + 10,
            "ticks read by the adopting driver");

        // Every tick exactly once, in order: 1..n, across both drivers and the gap between them.
        var ticks = lines.Where(l => l.Text.StartsWith("tick ", StringComparison.Ordinal)).Select(l => int.Parse(l.Text[5..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(1, ticks.Count), ticks);
        Assert.Equal(Enumerable.Range(1, lines.Count).Select(i => (long)i), lines.Select(l => l.Sequence));
        var notice = Assert.Single(lines, l => l.Text.StartsWith(ProcessDriver.NoticePrefix, StringComparison.Ordinal));
        Assert.Contains("adopted", notice.Text, StringComparison.Ordinal);
        // The lines written while no driver ran were read at adoption, before the notice.
        Assert.True(LastTick(string.Join('\n', lines.Where(l => l.Sequence < notice.Sequence).Select(l => l.Text))) >= writtenBeforeAdoption);

        await second.StopAsync("tick-2", TimeSpan.FromSeconds(5));
        Assert.False(Poll.PidExists(status.Pid!.Value));
    }

    [Fact]
    public async Task CaptureFiles_AreTruncatedOnceReadPastTheLimit()
    {
        var driver = NewDriver(new ProcessDriverOptions { MaxOutputFileBytes = 1000 });
        var go = Path.Combine(Root, "go");
        // Each burst is one write of about 2.7 KB (seq buffers its output), then the process waits, silent.
        var script = $"""seq -f 'line-%g' 1 300; while [ ! -e '{go}' ]; do sleep 0.05; done; seq -f 'line-%g' 301 600; exec sleep 30""";
        await StartAsync(Request("trunc-1", Shell(script)), driver);

        await WaitForLinesAsync("trunc-1", 300, driver);
        await Poll.UntilAsync(() => new FileInfo(StdoutPath("trunc-1")).Length == 0, "stdout.log to be truncated");
        await File.WriteAllTextAsync(go, "");
        var lines = await WaitForLinesAsync("trunc-1", 600, driver);
        await Poll.UntilAsync(() => new FileInfo(StdoutPath("trunc-1")).Length == 0, "stdout.log to be truncated again");

        // The writer follows the truncation (O_APPEND): nothing lost, nothing doubled, no hole of zeros.
        Assert.Equal(Enumerable.Range(1, 600).Select(i => $"line-{i}"), lines.Select(l => l.Text));
    }

    [Fact]
    public async Task Args_ReachTheProgramVerbatim_AndStdinIsAtEndOfFile()
    {
        var directory = Path.Combine(Root, "dir with spaces; and $VARS");
        Directory.CreateDirectory(directory);
        var program = Path.Combine(directory, "print args.sh");
        await File.WriteAllTextAsync(program, "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done\nif read line; then echo stdin-has-data; else echo stdin-eof; fi\n");
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string[] args = ["a b", "it's \"quoted\"", "$HOME", "${PATH}", "a;b", "`id`", "$(id)", "*", "", "-n", "back\\slash", "line\nbreak"];
        var spec = new ServiceSpec { Name = "test", Driver = "process", Command = program, Args = args };

        await StartAsync(Request("args-1", spec));
        await WaitForStateAsync("args-1", WorkloadState.Exited);
        var text = (await Driver.ReadLogsAsync("args-1", 0, 100)).Select(l => l.Text);

        Assert.Equal(string.Join('\n', args.Select(a => $"<{a}>")) + "\nstdin-eof", string.Join('\n', text));
        Assert.Equal(0, (await Driver.GetStatusAsync("args-1")).ExitCode);
    }

    [Fact]
    public async Task Recover_ReadsWhatAProcessWroteBeforeItEndedWhileNoDriverRan()
    {
        var first = NewDriver();
        var go = Path.Combine(Root, "go");
        var status = await StartAsync(Request("late-1", Shell($"""echo early; while [ ! -e '{go}' ]; do sleep 0.05; done; echo late; printf 'no newline'""")), first);
        await WaitForLinesAsync("late-1", 1, first);
        await first.DisposeAsync();
        await File.WriteAllTextAsync(go, "");
        await Poll.UntilAsync(() => !Poll.PidExists(status.Pid!.Value), "the process to end");

        var second = NewDriver();
        var recovered = Assert.Single(await second.RecoverAsync(Root));

        Assert.Equal(WorkloadState.Exited, recovered.State);
        var lines = await second.ReadLogsAsync("late-1", 0, 10);
        Assert.Equal([(1L, "early"), (2L, "late"), (3L, "no newline")], lines.Select(l => (l.Sequence, l.Text)));
        Assert.Equal(["early", "late", "no newline"], OutputLogTexts("late-1"));
    }

    private string StdoutPath(string id) => Path.Combine(Root, id, "stdout.log");

    private List<string> OutputLogTexts(string id) =>
        [.. ReadShared(Path.Combine(Root, id, "output.log")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 4)[3])];

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The highest "tick n" in a text; 0 when none.</summary>
    private static int LastTick(string text) =>
        text.Split('\n').Where(l => l.StartsWith("tick ", StringComparison.Ordinal) && int.TryParse(l.AsSpan(5), out _))
            .Select(l => int.Parse(l.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
}
