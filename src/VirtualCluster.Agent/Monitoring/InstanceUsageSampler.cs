using System.Globalization;
using VirtualCluster.Api;

namespace VirtualCluster.Agent.Monitoring;

/// <summary>
/// Measures each instance's own CPU and memory from <c>/proc</c>: the process the driver reports (the service's
/// process, or a container's first process on the host) and every process under it, found by parent ids. CPU is the
/// tree's user + system time since the previous sample, memory the sum of resident sets. Samples at most every
/// <see cref="MinInterval"/> (a scan reads every process's stat file); between two, the last figures are reported
/// again. An instance is reported from its second sample on (CPU needs two). Not thread-safe: one heartbeat loop calls it.
/// </summary>
internal sealed class InstanceUsageSampler(string procRoot, TimeProvider time)
{
    internal static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(2);

    /// <summary>Clock ticks per second of <c>/proc/*/stat</c> times (USER_HZ, 100 on every Linux the agent runs on).</summary>
    private const double TicksPerSecond = 100;

    private readonly long _pageSize = Environment.SystemPageSize;
    private Dictionary<string, (int Pid, long Ticks, long Timestamp)> _previous = new(StringComparer.Ordinal);
    private Dictionary<string, InstanceUsage> _last = new(StringComparer.Ordinal);
    private long _sampledAt = long.MinValue;

    /// <summary>The reports with each running instance's usage filled in where it is known.</summary>
    public List<InstanceReport> Attach(List<InstanceReport> reports)
    {
        if (!OperatingSystem.IsLinux() || reports.Count == 0) return reports;
        var now = time.GetTimestamp();
        if (_sampledAt == long.MinValue || time.GetElapsedTime(_sampledAt, now) >= MinInterval)
        {
            Sample([.. reports.Where(r => r.Pid is > 0 && r.State is InstanceState.Running or InstanceState.Starting).Select(r => (r.InstanceId, r.Pid!.Value))], now);
            _sampledAt = now;
        }
        for (var i = 0; i < reports.Count; i++)
            if (_last.TryGetValue(reports[i].InstanceId, out var usage)) reports[i] = reports[i] with { Usage = usage };
        return reports;
    }

    private void Sample(IReadOnlyList<(string Id, int Pid)> instances, long now)
    {
        var next = new Dictionary<string, (int, long, long)>(StringComparer.Ordinal);
        var last = new Dictionary<string, InstanceUsage>(StringComparer.Ordinal);
        if (instances.Count > 0)
        {
            var processes = ReadProcesses();
            var children = new Dictionary<int, List<int>>();
            foreach (var (pid, p) in processes)
            {
                if (!children.TryGetValue(p.Parent, out var list)) children[p.Parent] = list = [];
                list.Add(pid);
            }
            foreach (var (id, pid) in instances)
            {
                if (!processes.ContainsKey(pid)) continue; // gone since the driver looked
                var (ticks, pages) = Tree(pid, processes, children);
                next[id] = (pid, ticks, now);
                // Same root process as last time: the difference is this instance's CPU (a restart starts over).
                if (_previous.TryGetValue(id, out var before) && before.Pid == pid && ticks >= before.Ticks)
                {
                    var seconds = time.GetElapsedTime(before.Timestamp, now).TotalSeconds;
                    if (seconds > 0)
                        last[id] = new InstanceUsage((long)Math.Round((ticks - before.Ticks) / TicksPerSecond / seconds * 1000), pages * _pageSize);
                }
            }
        }
        _previous = next;
        _last = last;
    }

    private static (long Ticks, long Pages) Tree(int root, Dictionary<int, (int Parent, long Ticks, long Pages)> processes, Dictionary<int, List<int>> children)
    {
        long ticks = 0, pages = 0;
        var stack = new Stack<int>();
        var seen = new HashSet<int>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var pid = stack.Pop();
            if (!seen.Add(pid) || !processes.TryGetValue(pid, out var p)) continue;
            ticks += p.Ticks;
            pages += p.Pages;
            if (children.TryGetValue(pid, out var list)) foreach (var child in list) stack.Push(child);
        }
        return (ticks, pages);
    }

    private Dictionary<int, (int Parent, long Ticks, long Pages)> ReadProcesses()
    {
        var result = new Dictionary<int, (int, long, long)>();
        IEnumerable<string> directories;
        try
        {
            directories = Directory.EnumerateDirectories(procRoot);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return result;
        }
        foreach (var directory in directories)
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // exited while we looked
            }
            if (ParseStat(text) is { } stat) result[pid] = stat;
        }
        return result;
    }

    /// <summary>
    /// Parent pid, utime + stime and rss (pages) from one <c>/proc/[pid]/stat</c> line. The command name is in
    /// parentheses and may hold spaces and parentheses itself, so fields are counted from the last ')'.
    /// </summary>
    internal static (int Parent, long Ticks, long Pages)? ParseStat(string text)
    {
        var close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // After the name: state(3) ppid(4) ... utime(14) stime(15) ... rss(24), numbered as in proc(5).
        if (fields.Length < 22) return null;
        if (!int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var parent)
            || !long.TryParse(fields[11], NumberStyles.Integer, CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[12], NumberStyles.Integer, CultureInfo.InvariantCulture, out var system)
            || !long.TryParse(fields[21], NumberStyles.Integer, CultureInfo.InvariantCulture, out var rss))
            return null;
        return (parent, Math.Max(0, user) + Math.Max(0, system), Math.Max(0, rss));
    }
}
