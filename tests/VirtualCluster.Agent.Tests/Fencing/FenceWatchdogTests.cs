using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using VirtualCluster.Agent.Fencing;

namespace VirtualCluster.Agent.Tests.Fencing;

/// <summary>The watchdog process against real processes: it kills on time, spares renewed leases and reused pids.</summary>
public sealed class FenceWatchdogTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vc-watchdog-").FullName;
    private readonly List<Process> _started = [];
    private FenceWatchdog _watchdog = null!;

    private readonly ListLogger _log = new();

    public Task InitializeAsync()
    {
        _watchdog = new FenceWatchdog(_dir, _log, TimeProvider.System);
        Assert.True(_watchdog.Start());
        return Task.CompletedTask;
    }

    private Process Start(string command)
    {
        var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { UseShellExecute = false })!;
        _started.Add(process);
        return process;
    }

    private static long Now => FenceWatchdog.UptimeCentiseconds()!.Value;

    private static async Task<bool> DiesWithinAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (!IsAlive(pid)) return true;
            await Task.Delay(20);
        }
        return !IsAlive(pid);
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static List<int> ChildrenOf(int parent) =>
        Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)).Select(n => int.Parse(n!))
            .Where(p => ReadStat(p) is { } s && s[(s.LastIndexOf(')') + 2)..].Split(' ')[1] == parent.ToString()).ToList();

    // A process can end between listing /proc and reading its stat.
    private static string? ReadStat(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    [Fact]
    public async Task It_kills_a_guarded_process_and_its_children_once_the_deadline_passes()
    {
        var parent = Start("sleep 600 & sleep 600 & wait");
        // The shell forks its two children right after it starts: wait for both (bounded).
        var children = ChildrenOf(parent.Id);
        for (var until = DateTime.UtcNow.AddSeconds(10); children.Count < 2 && DateTime.UtcNow < until; children = ChildrenOf(parent.Id))
            await Task.Delay(20);
        Assert.Equal(2, children.Count);

        var deadline = Now + 50;
        _watchdog.Renew(deadline, [parent.Id]);
        Assert.True(IsAlive(parent.Id));

        Assert.True(await DiesWithinAsync(parent.Id, TimeSpan.FromSeconds(5)), "the guarded process survived its deadline");
        Assert.True(Now >= deadline - 1, "killed before the deadline");
        foreach (var child in children) Assert.True(await DiesWithinAsync(child, TimeSpan.FromSeconds(2)), $"child {child} survived");
    }

    [Fact]
    public async Task Renewals_keep_a_process_alive_past_its_first_deadline_and_clear_stops_guarding()
    {
        var guarded = Start("sleep 600");
        // Each renewal gives 2 s, so a late renewal (a busy test machine) cannot let a deadline pass.
        var first = Now + 200;
        var last = first;
        while (Now < first + 100)
        {
            last = Now + 200;
            _watchdog.Renew(last, [guarded.Id]);
            await Task.Delay(100);
        }
        Assert.True(IsAlive(guarded.Id), "killed although every renewal came well before its deadline: " + _log);
        _watchdog.Clear();
        // Past the last deadline: nothing is guarded any more, so nothing happens.
        while (Now < last + 50) await Task.Delay(50);
        Assert.True(IsAlive(guarded.Id), "killed after clear: " + _log);
    }

    [Fact]
    public async Task A_command_that_arrives_in_two_parts_across_a_poll_is_not_lost()
    {
        var guarded = Start("sleep 600");
        await Task.Delay(100);
        // The lease arrives in two writes with a pause longer than the watchdog's 100 ms poll in between.
        _watchdog.Write($"lease {Now + 30} {guarded.Id}:");
        await Task.Delay(300);
        _watchdog.Write($"{FenceWatchdog.ProcessStartTime(guarded.Id)}\n");
        Assert.True(await DiesWithinAsync(guarded.Id, TimeSpan.FromSeconds(5)), "a lease split across a poll was lost: " + _log);

        var spared = Start("sleep 600");
        await Task.Delay(100);
        _watchdog.Renew(Now + 150, [spared.Id]);
        _watchdog.Write("cle");
        await Task.Delay(300);
        _watchdog.Write("ar\n");
        var deadline = Now + 200;
        while (Now < deadline) await Task.Delay(50);
        Assert.True(IsAlive(spared.Id), "a clear split across a poll was lost: " + _log);
    }

    [Fact]
    public async Task A_reused_pid_is_not_killed()
    {
        var guarded = Start("sleep 600");
        await Task.Delay(100);
        // Pretend we guard a process with the same pid but another start time.
        _watchdog.Send($"lease {Now - 1} {guarded.Id}:1");
        await Task.Delay(800);
        Assert.True(IsAlive(guarded.Id));
    }

    [Fact]
    public async Task When_the_agent_is_gone_it_still_enforces_the_last_lease_then_exits()
    {
        var guarded = Start("sleep 600");
        _watchdog.Renew(Now + 60, [guarded.Id]);
        var watchdogPid = _watchdog.Pid!.Value;
        // Close its input as a dying agent would (without the exit command).
        _watchdog.AbandonInput();

        Assert.True(await DiesWithinAsync(guarded.Id, TimeSpan.FromSeconds(5)));
        Assert.True(await DiesWithinAsync(watchdogPid, TimeSpan.FromSeconds(5)), "the watchdog did not exit after enforcing its last lease");
    }

    [Fact]
    public void Start_times_and_uptime_are_read_from_proc()
    {
        Assert.NotNull(FenceWatchdog.ProcessStartTime(Environment.ProcessId));
        Assert.Null(FenceWatchdog.ProcessStartTime(int.MaxValue));
        Assert.True(Now > 0);
    }

    public async Task DisposeAsync()
    {
        await _watchdog.DisposeAsync();
        foreach (var p in _started)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Keeps what the watchdog logs, for failure messages.</summary>
internal sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
{
    private readonly List<string> _lines = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        lock (_lines) _lines.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {formatter(state, exception)}");
    }

    public override string ToString()
    {
        lock (_lines) return string.Join(" | ", _lines);
    }
}
